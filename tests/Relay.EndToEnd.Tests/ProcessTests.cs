using MimeKit;
using Relay.Sender.Identity;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// The README's way of running Relay without Aspire: both services as plain processes from their build output, wired
/// only by the environment variables of the wiring contract (DESIGN.md), then real clients.
/// </summary>
public class ProcessTests
{
    [Fact]
    public async Task TwoPlainProcessesWiredByEnvironmentVariablesDeliverSwaksAndSmtplibMailToPickup()
    {
        var senderPort = ExternalTool.FreeLoopbackPort();
        var smtpPort = ExternalTool.FreeLoopbackPort();
        var pickup = Directory.CreateTempSubdirectory("relay-process-pickup-");
        var hash = await HashPasswordAsync(RelayStack.Password);
        var sender = ExternalTool.Start(ServiceExecutable("Relay.Sender"), [], ServiceDirectory("Relay.Sender"), new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{senderPort}",
            ["Delivery__PickupDirectory"] = pickup.FullName,
            [$"Identity__Accounts__{RelayStack.Account}__PasswordHash"] = hash,
            [$"Identity__Accounts__{RelayStack.Account}__AllowedSenders__0"] = RelayStack.AllowedSender,
        });
        var smtp = ExternalTool.Start(ServiceExecutable("Relay.Smtp"), [], ServiceDirectory("Relay.Smtp"), new Dictionary<string, string>
        {
            ["services__sender__http__0"] = $"http://127.0.0.1:{senderPort}",
            ["Smtp__Port"] = smtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        try
        {
            await ExternalTool.WaitForPortAsync(senderPort, TimeSpan.FromSeconds(60));
            await ExternalTool.WaitForPortAsync(smtpPort, TimeSpan.FromSeconds(60));

            var swaks = await ExternalTool.RunAsync("swaks",
            [
                "--server", $"127.0.0.1:{smtpPort}", "--auth", "LOGIN", "--auth-user", RelayStack.Account,
                "--auth-password", RelayStack.Password, "--from", "scanner@contoso.com", "--to", "alice@fabrikam.com",
                "--header", "Subject: from swaks", "--timeout", "30",
            ]);
            Assert.True(swaks.ExitCode == 0, swaks.ToString());

            var python = await ExternalTool.RunAsync("python3", ["-c", $"""
                import smtplib
                with smtplib.SMTP('127.0.0.1', {smtpPort}, timeout=30) as s:
                    s.login('{RelayStack.Account}', '{RelayStack.Password}')
                    s.sendmail('scanner@contoso.com', ['bob@fabrikam.com'], 'From: scanner@contoso.com\r\nTo: bob@fabrikam.com\r\nSubject: from smtplib\r\n\r\nhi\r\n')
                """]);
            Assert.True(python.ExitCode == 0, python.ToString());

            var subjects = new List<string>();
            foreach (var file in Directory.GetFiles(pickup.FullName, "*.eml"))
            {
                subjects.Add((await MimeMessage.LoadAsync(file)).Subject ?? string.Empty);
            }
            Assert.Equal(["from smtplib", "from swaks"], subjects.Order());
        }
        finally
        {
            await ExternalTool.StopAsync(smtp);
            await ExternalTool.StopAsync(sender);
            pickup.Delete(recursive: true);
        }
    }

    /// <summary>
    /// <c>dotnet /opt/relay/Relay.Sender.dll</c> from another directory: appsettings.json (and with it the Sender's
    /// HTTP/2-only endpoints) must still be found, or every gRPC call fails with HTTP_1_1_REQUIRED and AUTH gets 454.
    /// </summary>
    [Fact]
    public async Task ServicesStartedFromAnotherWorkingDirectoryStillSpeakGrpcAndAcceptAuth()
    {
        var senderPort = ExternalTool.FreeLoopbackPort();
        var smtpPort = ExternalTool.FreeLoopbackPort();
        var elsewhere = Directory.CreateTempSubdirectory("relay-process-cwd-");
        var pickup = Directory.CreateTempSubdirectory("relay-process-pickup-");
        var hash = await HashPasswordAsync(RelayStack.Password);
        var sender = ExternalTool.Start("dotnet", [ServiceExecutable("Relay.Sender") + ".dll"], elsewhere.FullName, new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{senderPort}",
            ["Delivery__PickupDirectory"] = pickup.FullName,
            [$"Identity__Accounts__{RelayStack.Account}__PasswordHash"] = hash,
            [$"Identity__Accounts__{RelayStack.Account}__AllowedSenders__0"] = RelayStack.AllowedSender,
        });
        var smtp = ExternalTool.Start("dotnet", [ServiceExecutable("Relay.Smtp") + ".dll"], elsewhere.FullName, new Dictionary<string, string>
        {
            ["services__sender__http__0"] = $"http://127.0.0.1:{senderPort}",
            ["Smtp__Port"] = smtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        try
        {
            await ExternalTool.WaitForPortAsync(senderPort, TimeSpan.FromSeconds(60));
            await ExternalTool.WaitForPortAsync(smtpPort, TimeSpan.FromSeconds(60));

            var python = await ExternalTool.RunAsync("python3", ["-c", $"""
                import smtplib
                with smtplib.SMTP('127.0.0.1', {smtpPort}, timeout=30) as s:
                    s.login('{RelayStack.Account}', '{RelayStack.Password}')
                    s.sendmail('scanner@contoso.com', ['bob@fabrikam.com'], 'From: scanner@contoso.com\r\nTo: bob@fabrikam.com\r\nSubject: from elsewhere\r\n\r\nhi\r\n')
                """]);
            Assert.True(python.ExitCode == 0, python.ToString());
            var file = Assert.Single(Directory.GetFiles(pickup.FullName, "*.eml"));
            Assert.Equal("from elsewhere", (await MimeMessage.LoadAsync(file)).Subject);
        }
        finally
        {
            await ExternalTool.StopAsync(smtp);
            await ExternalTool.StopAsync(sender);
            pickup.Delete(recursive: true);
            elsewhere.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task HashPasswordCommandPrintsAHashTheSenderAccepts()
    {
        var hash = await HashPasswordAsync("printer password");

        Assert.True(PasswordHash.TryParse(hash, out var parsed, out var error), error);
        Assert.True(parsed.Verify("printer password"));
    }

    internal static async Task<string> HashPasswordAsync(string password)
    {
        var result = await ExternalTool.RunAsync(ServiceExecutable("Relay.Sender"), ["hash-password", "--iterations", "100000"], password + "\n");
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Output.Trim();
    }

    /// <summary>A service's own build output (bin/CONFIG/TFM of its project), where its appsettings.json is.</summary>
    internal static string ServiceDirectory(string project)
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var (framework, configuration) = (testOutput.Name, testOutput.Parent!.Name);
        var root = testOutput;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Relay.slnx")))
        {
            root = root.Parent;
        }
        Assert.NotNull(root);
        return Path.Combine(root.FullName, "src", project, "bin", configuration, framework);
    }

    internal static string ServiceExecutable(string project) => Path.Combine(ServiceDirectory(project), project);
}
