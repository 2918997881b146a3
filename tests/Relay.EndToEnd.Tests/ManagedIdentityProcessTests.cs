using System.Collections.Concurrent;
using System.Globalization;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// Relay.Sender's managed identity where Azure Container Apps and App Service give it: the endpoint in
/// <c>IDENTITY_ENDPOINT</c> with the secret in <c>IDENTITY_HEADER</c>. Those are process-wide variables that MSAL reads
/// itself, so both services run as plain processes from their build output (as in <see cref="ProcessTests"/>), and the
/// sender trusts the fake cloud's certificate through <c>SSL_CERT_FILE</c>, as a container trusts its CA bundle.
/// </summary>
public class ManagedIdentityProcessTests
{
    [Fact]
    public async Task TheSenderProcessSignsInWithTheIdentityEndpointOfContainerApps()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // SSL_CERT_FILE is how OpenSSL, and so .NET on Linux, finds trusted roots; elsewhere there is no per-process trust.
        }
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        var identity = Guid.NewGuid().ToString();
        cloud.RegisterManagedIdentity(RelayStack.GraphTenantId, identity);
        var folder = Directory.CreateTempSubdirectory("relay-managed-identity-");
        var trust = Path.Combine(folder.FullName, "fake-cloud.pem");
        await File.WriteAllTextAsync(trust, cloud.Certificate.ExportCertificatePem());
        var senderPort = ExternalTool.FreeLoopbackPort();
        var smtpPort = ExternalTool.FreeLoopbackPort();
        var senderOutput = new ConcurrentQueue<string>();
        var sender = ExternalTool.Start(ProcessTests.ServiceExecutable("Relay.Sender"), [], ProcessTests.ServiceDirectory("Relay.Sender"), new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{senderPort}",
            [$"Identity__Accounts__{RelayStack.Account}__PasswordHash"] = await ProcessTests.HashPasswordAsync(RelayStack.Password),
            [$"Identity__Accounts__{RelayStack.Account}__AllowedSenders__0"] = RelayStack.AllowedSender,
            ["Graph__BaseUrl"] = cloud.GraphBaseUrl,
            ["Graph__Credential"] = "ManagedIdentity",
            ["Graph__ManagedIdentityClientId"] = identity,
            // What Container Apps sets in every replica that has a managed identity.
            ["IDENTITY_ENDPOINT"] = cloud.ManagedIdentityEndpoint.ToString(),
            ["IDENTITY_HEADER"] = cloud.ManagedIdentityHeader,
            ["SSL_CERT_FILE"] = trust,
            ["SSL_CERT_DIR"] = folder.FullName,
        }, senderOutput);
        var smtp = ExternalTool.Start(ProcessTests.ServiceExecutable("Relay.Smtp"), [], ProcessTests.ServiceDirectory("Relay.Smtp"), new Dictionary<string, string>
        {
            ["services__sender__http__0"] = $"http://127.0.0.1:{senderPort}",
            ["Smtp__Port"] = smtpPort.ToString(CultureInfo.InvariantCulture),
        });
        try
        {
            await ExternalTool.WaitForPortAsync(senderPort, TimeSpan.FromSeconds(60));
            await ExternalTool.WaitForPortAsync(smtpPort, TimeSpan.FromSeconds(60));

            var reply = await SmtpClients.SendWithMailKitAsync(smtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com"));

            Assert.StartsWith("2.0.0", reply, StringComparison.Ordinal);
            Assert.Equal(identity, Assert.Single(cloud.SentMail).Principal, ignoreCase: true);
            var tokenRequest = Assert.Single(cloud.Requests, request => request.Path == cloud.ManagedIdentityEndpoint.AbsolutePath);
            Assert.Contains($"client_id={identity}", tokenRequest.Query, StringComparison.Ordinal);
            Assert.Equal(cloud.ManagedIdentityHeader, tokenRequest.Headers["X-IDENTITY-HEADER"]);
            Assert.Contains(senderOutput, line => line.Contains($"signing in with user-assigned managed identity {identity}", StringComparison.Ordinal));
        }
        catch (Exception) when (Dump(senderOutput))
        {
            throw;
        }
        finally
        {
            await ExternalTool.StopAsync(smtp);
            await ExternalTool.StopAsync(sender);
            folder.Delete(recursive: true);
        }
    }

    /// <summary>Puts the sender's output in the test log when the test fails (returns false so the exception goes on).</summary>
    private static bool Dump(IEnumerable<string> output)
    {
        Console.Error.WriteLine(string.Join(Environment.NewLine, output));
        return false;
    }
}
