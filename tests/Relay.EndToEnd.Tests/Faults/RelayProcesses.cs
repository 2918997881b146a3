using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Relay.Sender.Identity;
using Relay.Testing;

namespace Relay.EndToEnd.Tests.Faults;

/// <summary>
/// Relay.Sender and Relay.Smtp as real processes from their build output (as in <see cref="ProcessTests"/>), on fixed
/// loopback ports, so that the Sender can be killed (the whole process tree, no shutdown) and started again on the same
/// port while Relay.Smtp keeps running. With a fake cloud, the Sender delivers to its Graph and trusts its certificate
/// through <c>SSL_CERT_FILE</c> (as in <see cref="ManagedIdentityProcessTests"/>); without one, to a pickup folder.
/// </summary>
internal sealed class RelayProcesses : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Dictionary<string, string> _senderEnvironment;
    private readonly DirectoryInfo _folder;

    private RelayProcesses(DirectoryInfo folder, Dictionary<string, string> senderEnvironment)
    {
        _folder = folder;
        _senderEnvironment = senderEnvironment;
    }

    public int SenderPort { get; } = ExternalTool.FreeLoopbackPort();
    public int SmtpPort { get; } = ExternalTool.FreeLoopbackPort();
    public Process Sender { get; private set; } = null!;
    public Process Smtp { get; private set; } = null!;
    public string PickupDirectory => Path.Combine(_folder.FullName, "pickup");

    /// <summary>Everything both processes wrote (stdout and stderr), for a failing test's message.</summary>
    public ConcurrentQueue<string> Output { get; } = new();

    public static async Task<RelayProcesses> StartAsync(FakeMicrosoftCloud? cloud, bool keepOutput = true)
    {
        var folder = Directory.CreateTempSubdirectory("relay-faults-");
        var environment = new Dictionary<string, string>
        {
            [$"Identity__Accounts__{RelayStack.Account}__PasswordHash"] = PasswordHash.Create(RelayStack.Password, PasswordHash.MinimumIterations).ToString(),
            [$"Identity__Accounts__{RelayStack.Account}__AllowedSenders__0"] = RelayStack.AllowedSender,
            ["Delivery__PickupDirectory"] = Path.Combine(folder.FullName, "pickup"),
        };
        if (cloud is not null)
        {
            cloud.RegisterApp(RelayStack.GraphTenantId, RelayStack.GraphClientId, RelayStack.GraphClientSecret);
            var trust = Path.Combine(folder.FullName, "fake-cloud.pem");
            await File.WriteAllTextAsync(trust, cloud.Certificate.ExportCertificatePem());
            environment["Graph__BaseUrl"] = cloud.GraphBaseUrl;
            environment["Graph__AuthorityHost"] = cloud.AuthorityHost.ToString();
            environment["Graph__TenantId"] = RelayStack.GraphTenantId;
            environment["Graph__ClientId"] = RelayStack.GraphClientId;
            environment["Graph__ClientSecret"] = RelayStack.GraphClientSecret;
            environment["SSL_CERT_FILE"] = trust;
            environment["SSL_CERT_DIR"] = folder.FullName;
        }
        var processes = new RelayProcesses(folder, environment);
        environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{processes.SenderPort}";
        try
        {
            await processes.StartSenderAsync(keepOutput);
            processes.Smtp = ExternalTool.Start(ProcessTests.ServiceExecutable("Relay.Smtp"), [], ProcessTests.ServiceDirectory("Relay.Smtp"), new Dictionary<string, string>
            {
                ["services__sender__http__0"] = $"http://127.0.0.1:{processes.SenderPort}",
                ["Smtp__Port"] = processes.SmtpPort.ToString(CultureInfo.InvariantCulture),
                ["Smtp__ServerName"] = "relay.test",
                ["Smtp__AuthFailureDelay"] = "00:00:00",
            }, keepOutput ? processes.Output : null);
            await ExternalTool.WaitForPortAsync(processes.SmtpPort, StartTimeout);
        }
        catch
        {
            await processes.DisposeAsync();
            throw;
        }
        return processes;
    }

    /// <summary>Starts Relay.Sender (again) on <see cref="SenderPort"/> and waits until it listens.</summary>
    public async Task StartSenderAsync(bool keepOutput = true)
    {
        var output = keepOutput ? Output : null;
        Sender?.Dispose(); // a killed one: it has exited
        Sender = ExternalTool.Start(ProcessTests.ServiceExecutable("Relay.Sender"), [], ProcessTests.ServiceDirectory("Relay.Sender"), _senderEnvironment, output);
        await ExternalTool.WaitForPortAsync(SenderPort, StartTimeout);
    }

    /// <summary>Kills Relay.Sender at once (SIGKILL to the whole tree: no graceful shutdown, nothing flushed) and waits for it to die.</summary>
    public async Task KillSenderAsync()
    {
        Sender.Kill(entireProcessTree: true);
        await Sender.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in new[] { Smtp, Sender }.Where(process => process is not null))
        {
            await ExternalTool.StopAsync(process);
        }
        _folder.Delete(recursive: true);
    }
}
