using System.Net;
using System.Security.Cryptography.X509Certificates;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// Relay.Smtp's certificate from Key Vault (<c>Smtp:Tls:KeyVaultCertificateName</c>), read from the fake vault through the
/// real Azure SDK: the challenge handshake, a token from the fake Entra, the secret, and new versions picked up while
/// clients keep connecting.
/// </summary>
public class KeyVaultCertificateTests
{
    private const string CertificateName = "relay-smtp-tls";
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("application/x-pkcs12")]
    [InlineData("application/x-pem-file")]
    public async Task StartTlsAndImplicitTlsPresentTheCertificateFromKeyVault(string contentType)
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var certificate = LoopbackCertificate.Create("relay.test from Key Vault");
        var version = cloud.ImportCertificate(CertificateName, certificate, contentType);

        await using var stack = await StartAsync(cloud);
        var startTls = await SmtpClients.HandshakeAsync(stack.SmtpPort, SecureSocketOptions.StartTls, send: true);
        var implicitTls = await SmtpClients.HandshakeAsync(stack.ImplicitTlsPort!.Value, SecureSocketOptions.SslOnConnect);

        Assert.Equal(certificate.Thumbprint, startTls.Thumbprint);
        Assert.Equal(certificate.Thumbprint, implicitTls.Thumbprint);
        Assert.Single(Directory.GetFiles(stack.PickupDirectory, "*.eml"));
        Assert.Contains(stack.Logs, line => line.Contains($"Key Vault secret {CertificateName} version {version} in use: CN=relay.test from Key Vault", StringComparison.Ordinal));
        Assert.Contains(stack.Logs, line => line.Contains("(STARTTLS offered)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ANewVersionInKeyVaultIsPresentedWithoutARestart()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var original = LoopbackCertificate.Create("relay.test original");
        cloud.ImportCertificate(CertificateName, original);
        await using var stack = await StartAsync(cloud);
        var before = await SmtpClients.HandshakeAsync(stack.SmtpPort, SecureSocketOptions.StartTls);

        using var renewed = LoopbackCertificate.Create("relay.test renewed");
        var version = cloud.ImportCertificate(CertificateName, renewed, "application/x-pem-file");
        var afterStartTls = await WaitForCertificateAsync(stack.SmtpPort, SecureSocketOptions.StartTls, renewed);
        var afterImplicit = await SmtpClients.HandshakeAsync(stack.ImplicitTlsPort!.Value, SecureSocketOptions.SslOnConnect);

        Assert.Equal(original.Thumbprint, before.Thumbprint);
        Assert.Equal(renewed.Thumbprint, afterStartTls.Thumbprint);
        Assert.Equal(renewed.Thumbprint, afterImplicit.Thumbprint);
        Assert.Contains(stack.Logs, line => line.Contains($"version {version} in use: CN=relay.test renewed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ACertificateMissingFromKeyVaultStopsStartUpNamingTheKeyAndTheVault()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(cloud));

        Assert.Contains("Smtp:Tls:KeyVaultCertificateName", error.Message, StringComparison.Ordinal);
        Assert.Contains(CertificateName, error.Message, StringComparison.Ordinal);
        Assert.Contains(cloud.KeyVaultUri.Host, error.Message, StringComparison.Ordinal);
        Assert.Contains("SecretNotFound", error.Message, StringComparison.Ordinal);
        Assert.Contains(cloud.Requests, request => request.Path.TrimEnd('/') == $"/secrets/{CertificateName}" && request.StatusCode == (int)HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ASecretThatIsNotACertificateStopsStartUpWithoutShowingItsValue()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        const string value = "hunter2-not-a-certificate";
        cloud.SetSecret(CertificateName, value, "text/plain");

        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(cloud));

        Assert.Contains("Smtp:Tls:KeyVaultCertificateName", error.Message, StringComparison.Ordinal);
        Assert.Contains("text/plain", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(value, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AVersionThatIsNotACertificateKeepsTheCertificateInUseAndIsReportedOnce()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var original = LoopbackCertificate.Create("relay.test original");
        cloud.ImportCertificate(CertificateName, original);
        await using var stack = await StartAsync(cloud);

        const string value = "aHVudGVyMg-truncated-upload";
        var bad = cloud.SetSecret(CertificateName, value, "application/x-pkcs12");
        await WaitForLogAsync(stack, line => line.StartsWith("Warning", StringComparison.Ordinal) && line.Contains(bad, StringComparison.Ordinal));
        var duringBad = await SmtpClients.HandshakeAsync(stack.SmtpPort, SecureSocketOptions.StartTls);
        var requestsWhileBad = cloud.KeyVaultRequestCount;
        await WaitUntilAsync(() => cloud.KeyVaultRequestCount >= requestsWhileBad + 2);

        using var fixedCertificate = LoopbackCertificate.Create("relay.test fixed");
        cloud.ImportCertificate(CertificateName, fixedCertificate);
        var afterFix = await WaitForCertificateAsync(stack.SmtpPort, SecureSocketOptions.StartTls, fixedCertificate);

        Assert.Equal(original.Thumbprint, duringBad.Thumbprint);
        Assert.Equal(fixedCertificate.Thumbprint, afterFix.Thumbprint);
        Assert.Single(stack.Logs, line => line.Contains(bad, StringComparison.Ordinal));
        Assert.DoesNotContain(stack.Logs, line => line.Contains(value, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AVaultThatRefusesAccessKeepsTheCertificateInUse()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var original = LoopbackCertificate.Create("relay.test original");
        cloud.ImportCertificate(CertificateName, original);
        await using var stack = await StartAsync(cloud);

        cloud.KeyVaultFault = _ => KeyVaultFault.ForbiddenByRbac();
        using var renewed = LoopbackCertificate.Create("relay.test renewed");
        cloud.ImportCertificate(CertificateName, renewed);
        await WaitForLogAsync(stack, line => line.StartsWith("Warning", StringComparison.Ordinal)
            && line.Contains($"TLS certificate {CertificateName} could not be read from Key Vault", StringComparison.Ordinal)
            && line.Contains("HTTP 403", StringComparison.Ordinal));
        var whileRefused = await SmtpClients.HandshakeAsync(stack.SmtpPort, SecureSocketOptions.StartTls);

        cloud.KeyVaultFault = null;
        var afterAccessRestored = await WaitForCertificateAsync(stack.SmtpPort, SecureSocketOptions.StartTls, renewed);

        Assert.Equal(original.Thumbprint, whileRefused.Thumbprint);
        Assert.Equal(renewed.Thumbprint, afterAccessRestored.Thumbprint);
    }

    [Fact]
    public async Task RelayAnswersKeyVaultsChallengeWithOneTokenForTheVaultResource()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var certificate = LoopbackCertificate.Create("relay.test");
        cloud.ImportCertificate(CertificateName, certificate);
        await using var stack = await StartAsync(cloud);

        // Start-up (a challenge and the authorized retry of the configuration's list, the certificate) and then a few refreshes.
        await WaitUntilAsync(() => cloud.KeyVaultRequestCount >= 6);

        var vaultRequests = cloud.Requests.Where(request => request.Path.StartsWith("/secrets", StringComparison.Ordinal)).ToList();
        var challenged = vaultRequests[0];
        Assert.False(challenged.Headers.ContainsKey("Authorization"));
        Assert.Equal((int)HttpStatusCode.Unauthorized, challenged.StatusCode);
        Assert.All(vaultRequests.Skip(1), request =>
        {
            Assert.StartsWith("Bearer ", request.Headers["Authorization"], StringComparison.Ordinal);
            Assert.Equal((int)HttpStatusCode.OK, request.StatusCode);
            Assert.Contains("api-version=", request.Query, StringComparison.Ordinal);
        });
        Assert.Equal(1, cloud.TokenRequestCount);
        var tokenRequest = Assert.Single(cloud.Requests, request => request.Path.EndsWith("/oauth2/v2.0/token", StringComparison.Ordinal));
        Assert.Equal($"/{cloud.KeyVaultTenantId}/oauth2/v2.0/token", tokenRequest.Path);
        Assert.Contains("scope=" + Uri.EscapeDataString($"{cloud.KeyVaultResource}/.default"), System.Text.Encoding.UTF8.GetString(tokenRequest.Body), StringComparison.Ordinal);
        Assert.DoesNotContain(stack.Logs, line => line.Contains(KeyVaultReader.ClientSecret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AKeyVaultCertificateWithoutTheVaultFailsAtStartNamingBothKeys()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RelayStack.StartAsync(smtpSettings: new Dictionary<string, string?>
        {
            ["Smtp:Tls:KeyVaultCertificateName"] = CertificateName,
        }));

        Assert.Contains("Smtp:Tls:KeyVaultCertificateName", error.Message, StringComparison.Ordinal);
        Assert.Contains("ConnectionStrings:secrets", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AKeyVaultCertificateAndACertificateFileTogetherFailAtStartNamingBothKeys()
    {
        // No vault: with one, Relay.Smtp would read its configuration from it before validating options.
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RelayStack.StartAsync(tls: true, smtpSettings: new Dictionary<string, string?>
        {
            ["Smtp:Tls:KeyVaultCertificateName"] = CertificateName,
        }));

        Assert.Contains("Smtp:Tls:CertificatePath and Smtp:Tls:KeyVaultCertificateName are both set", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("relay.vault.azure.net")]
    [InlineData("http://relay.vault.azure.net/")]
    [InlineData("https://relay.vault.azure.net/secrets/relay-smtp-tls")]
    public async Task AVaultUriThatIsNotOneFailsAtStartNamingTheKey(string vaultUri)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RelayStack.StartAsync(smtpSettings: new Dictionary<string, string?>
        {
            ["ConnectionStrings:secrets"] = vaultUri,
        }));

        Assert.Contains($"ConnectionStrings:secrets '{vaultUri}' is not a Key Vault URI", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Relay.Smtp reading <see cref="CertificateName"/> from the fake vault every second, with an app registered in the
    /// vault's tenant as its identity (in Azure: the managed identity) and the fake's certificate trusted by the two
    /// HTTP clients involved.
    /// </summary>
    private static Task<RelayStack> StartAsync(FakeMicrosoftCloud cloud)
    {
        // One identity for both readers of the vault, the configuration source and the certificate, as in Azure where both
        // are the app's managed identity.
        var credential = KeyVaultReader.Register(cloud);
        return RelayStack.StartAsync(
            smtpSettings: new Dictionary<string, string?>
            {
                ["ConnectionStrings:secrets"] = cloud.KeyVaultUri.ToString(),
                ["Smtp:Tls:KeyVaultCertificateName"] = CertificateName,
                ["Smtp:Tls:KeyVaultRefreshInterval"] = "00:00:01",
                ["Smtp:ImplicitTlsPort"] = "0",
            },
            configureSmtp: builder =>
            {
                builder.Services.AddSingleton<TokenCredential>(credential);
                builder.Services.AddHttpClient(KeyVaultExtensions.HttpClientName).ConfigurePrimaryHttpMessageHandler(cloud.CreateTrustingHandler);
            },
            configureKeyVault: KeyVaultReader.Settings(cloud, credential));
    }

    /// <summary>Handshakes until <paramref name="expected"/> is presented or <see cref="WaitLimit"/> passes; returns the last certificate seen.</summary>
    private static async Task<X509Certificate2> WaitForCertificateAsync(int port, SecureSocketOptions security, X509Certificate2 expected)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (true)
        {
            var presented = await SmtpClients.HandshakeAsync(port, security);
            if (presented.Thumbprint == expected.Thumbprint || DateTime.UtcNow > deadline)
            {
                return presented;
            }
            await Task.Delay(200);
        }
    }

    private static Task WaitForLogAsync(RelayStack stack, Func<string, bool> match) =>
        WaitUntilAsync(() => stack.Logs.Any(match));

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Not reached within {WaitLimit.TotalSeconds} s.");
            await Task.Delay(100);
        }
    }
}
