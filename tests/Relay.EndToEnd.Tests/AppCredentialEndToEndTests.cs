using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Azure.Core;
using MailKit.Net.Smtp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// Relay's own app identity other than a client secret, through SMTP, gRPC and the fake cloud: a certificate from PEM or
/// PFX files or from Key Vault (signing the client assertion the fake checks against the certificates registered on the
/// app), replaced while Relay runs; a managed identity; workload identity's token file.
/// </summary>
public class AppCredentialEndToEndTests
{
    private const string KeyVaultCertificate = "relay-app";
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("pem")]
    [InlineData("pem-with-key-inside")]
    [InlineData("pfx")]
    public async Task ACertificateFileSignsRelayInAndTheMessageIsSent(string format)
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var certificate = LoopbackCertificate.Create("Relay app");
        cloud.RegisterAppCertificate(RelayStack.GraphTenantId, RelayStack.GraphClientId, certificate);
        using var files = new CertificateFolder();
        await using var stack = await RelayStack.StartAsync(cloud, senderSettings: files.Write(certificate, format));

        var reply = await Send(stack);

        Assert.StartsWith("2.0.0", reply, StringComparison.Ordinal);
        Assert.Equal(RelayStack.GraphClientId, Assert.Single(cloud.SentMail).Principal, ignoreCase: true);
        Assert.Equal(RelayStack.GraphClientId, Assert.Single(TokenForms(cloud))["client_id"]);
        Assert.Equal(Sha256(certificate), Assert.Single(AssertionCertificates(cloud)));
        Assert.DoesNotContain(TokenForms(cloud), form => form.ContainsKey("client_secret"));
        Assert.Contains(stack.Logs, line => line.Contains($"signing in with certificate CN=Relay app (thumbprint {certificate.Thumbprint}", StringComparison.Ordinal));
        if (format == "pfx")
        {
            Assert.DoesNotContain(stack.Logs, line => line.Contains(CertificateFolder.PfxPassword, StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("application/x-pkcs12")]
    [InlineData("application/x-pem-file")]
    public async Task AKeyVaultCertificateSignsRelayInAndTheMessageIsSent(string contentType)
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var certificate = LoopbackCertificate.Create("Relay app in Key Vault");
        cloud.RegisterAppCertificate(RelayStack.GraphTenantId, RelayStack.GraphClientId, certificate);
        var version = cloud.ImportCertificate(KeyVaultCertificate, certificate, contentType);
        await using var stack = await StartWithKeyVaultCertificateAsync(cloud);

        var reply = await Send(stack);

        Assert.StartsWith("2.0.0", reply, StringComparison.Ordinal);
        Assert.Single(cloud.SentMail);
        Assert.Equal(Sha256(certificate), Assert.Single(AssertionCertificates(cloud)));
        Assert.Contains(stack.Logs, line => line.Contains(
            $"signing in with certificate CN=Relay app in Key Vault (thumbprint {certificate.Thumbprint}", StringComparison.Ordinal)
            && line.Contains($"Key Vault certificate {KeyVaultCertificate} version {version}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ACertificateEntraDoesNotKnowDefersTheMessageWith454()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var registered = LoopbackCertificate.Create("Relay app");
        using var other = LoopbackCertificate.Create("Relay app not uploaded");
        cloud.RegisterAppCertificate(RelayStack.GraphTenantId, RelayStack.GraphClientId, registered);
        using var files = new CertificateFolder();
        await using var stack = await RelayStack.StartAsync(cloud, senderSettings: files.Write(other, "pem"));

        var deferred = await Assert.ThrowsAsync<SmtpCommandException>(() => Send(stack));

        Assert.Equal(454, (int)deferred.StatusCode);
        Assert.StartsWith("4.7.0", deferred.Message, StringComparison.Ordinal);
        Assert.Empty(cloud.SentMail);
        Assert.Contains(stack.Logs, line => line.Contains("AADSTS700027", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AReplacedCertificateFileSignsTheNextMessageWithoutARestart()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var original = LoopbackCertificate.Create("Relay app original");
        using var renewed = LoopbackCertificate.Create("Relay app renewed");
        // As an operator rotates: the new public part is uploaded first, then the files are replaced.
        cloud.RegisterAppCertificate(RelayStack.GraphTenantId, RelayStack.GraphClientId, original);
        cloud.RegisterAppCertificate(RelayStack.GraphTenantId, RelayStack.GraphClientId, renewed);
        using var files = new CertificateFolder();
        await using var stack = await RelayStack.StartAsync(cloud, senderSettings: files.Write(original, "pem"));
        await Send(stack);

        files.Write(renewed, "pem");
        await Send(stack);

        Assert.Equal(2, cloud.SentMail.Count);
        Assert.Equal([Sha256(original), Sha256(renewed)], AssertionCertificates(cloud));
        Assert.Contains(stack.Logs, line => line.Contains("Relay's app certificate replaced", StringComparison.Ordinal)
            && line.Contains(renewed.Thumbprint, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AReplacementThatCannotBeLoadedIsReportedOnceAndTheCertificateInUseStays()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var certificate = LoopbackCertificate.Create("Relay app");
        cloud.RegisterAppCertificate(RelayStack.GraphTenantId, RelayStack.GraphClientId, certificate);
        using var files = new CertificateFolder();
        var settings = files.Write(certificate, "pem");
        await using var stack = await RelayStack.StartAsync(cloud, senderSettings: settings);

        await File.WriteAllTextAsync(settings["Graph:CertificatePath"]!, "-----BEGIN CERTIFICATE-----\nhalf-writ");
        await Send(stack);
        await Send(stack);

        Assert.Equal(2, cloud.SentMail.Count);
        Assert.Equal([Sha256(certificate)], AssertionCertificates(cloud));
        Assert.Single(stack.Logs, line => line.StartsWith("Warning", StringComparison.Ordinal)
            && line.Contains("changed but could not be loaded; the certificate in use stays", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ANewKeyVaultVersionSignsTheNextMessageWithoutARestart()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var original = LoopbackCertificate.Create("Relay app original");
        using var renewed = LoopbackCertificate.Create("Relay app renewed");
        cloud.RegisterAppCertificate(RelayStack.GraphTenantId, RelayStack.GraphClientId, original);
        cloud.RegisterAppCertificate(RelayStack.GraphTenantId, RelayStack.GraphClientId, renewed);
        cloud.ImportCertificate(KeyVaultCertificate, original);
        await using var stack = await StartWithKeyVaultCertificateAsync(cloud);
        await Send(stack);

        var version = cloud.ImportCertificate(KeyVaultCertificate, renewed, "application/x-pem-file");
        await WaitUntilAsync(() => stack.Logs.Any(line => line.Contains("Relay's app certificate replaced", StringComparison.Ordinal)
            && line.Contains($"version {version}", StringComparison.Ordinal)));
        await Send(stack);

        Assert.Equal(2, cloud.SentMail.Count);
        Assert.Equal([Sha256(original), Sha256(renewed)], AssertionCertificates(cloud));
    }

    [Fact]
    public async Task AKeyVaultCertificateThatIsMissingStopsStartUpNamingTheKeyAndTheVault()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartWithKeyVaultCertificateAsync(cloud));

        Assert.Contains($"Graph:CertificateName '{KeyVaultCertificate}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(cloud.KeyVaultUri.Host, error.Message, StringComparison.Ordinal);
        Assert.Contains("SecretNotFound", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACertificateFileWithoutItsKeyStopsStartUpNamingTheKey()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var certificate = LoopbackCertificate.Create("Relay app");
        using var files = new CertificateFolder();
        var settings = files.Write(certificate, "pem");
        settings.Remove("Graph:CertificateKeyPath");

        var error = await Assert.ThrowsAnyAsync<Exception>(() => RelayStack.StartAsync(cloud, senderSettings: settings));

        Assert.Contains("Graph:CertificatePath", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AKeyVaultCertificateWithoutTheVaultFailsAtStartNamingBothKeys()
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => RelayStack.StartAsync(senderSettings: new Dictionary<string, string?>
        {
            ["Graph:CertificateName"] = KeyVaultCertificate,
        }));

        Assert.Contains("Graph:CertificateName", error.Message, StringComparison.Ordinal);
        Assert.Contains("ConnectionStrings:secrets", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASecretAndACertificateTogetherFailAtStartNamingBothKeys()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var certificate = LoopbackCertificate.Create("Relay app");
        using var files = new CertificateFolder();
        var settings = files.Write(certificate, "pfx");
        settings["Graph:ClientSecret"] = RelayStack.GraphClientSecret;

        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => RelayStack.StartAsync(cloud, senderSettings: settings));

        Assert.Contains("Graph:ClientSecret and Graph:CertificatePath are both set", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(RelayStack.GraphClientSecret, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AUserAssignedManagedIdentitySendsWithoutAnAppRegistration()
    {
        // No IDENTITY_ENDPOINT in this process, so MSAL asks IMDS, as on a VM or an AKS node; the fake cloud's handler
        // (Relay's entra HttpClient in RelayStack) takes 169.254.169.254 to the fake's IMDS endpoint.
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        var identity = Guid.NewGuid().ToString();
        cloud.RegisterManagedIdentity(RelayStack.GraphTenantId, identity);
        await using var stack = await RelayStack.StartAsync(cloud, senderSettings: new Dictionary<string, string?>
        {
            ["Graph:TenantId"] = null,
            ["Graph:ClientId"] = null,
            ["Graph:ClientSecret"] = null,
            ["Graph:ManagedIdentityClientId"] = identity,
        });

        var reply = await Send(stack);

        Assert.StartsWith("2.0.0", reply, StringComparison.Ordinal);
        Assert.Equal(identity, Assert.Single(cloud.SentMail).Principal, ignoreCase: true);
        Assert.Contains(cloud.Requests, request => request.Path.Contains("/metadata/identity/oauth2/token", StringComparison.Ordinal)
            && request.Query.Contains($"client_id={identity}", StringComparison.Ordinal));
        Assert.Contains(stack.Logs, line => line.Contains($"signing in with user-assigned managed identity {identity}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheSystemAssignedManagedIdentitySendsWhenGraphCredentialSaysSo()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        var identity = Guid.NewGuid().ToString();
        cloud.RegisterManagedIdentity(RelayStack.GraphTenantId, identity, systemAssigned: true);
        await using var stack = await RelayStack.StartAsync(cloud, senderSettings: new Dictionary<string, string?>
        {
            ["Graph:TenantId"] = null,
            ["Graph:ClientId"] = null,
            ["Graph:ClientSecret"] = null,
            ["Graph:Credential"] = "ManagedIdentity",
        });

        await Send(stack);

        Assert.Equal(identity, Assert.Single(cloud.SentMail).Principal, ignoreCase: true);
        Assert.Contains(stack.Logs, line => line.Contains("signing in with system-assigned managed identity", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WorkloadIdentitySendsTheFederatedTokenFromTheFileNamedByTheStandardVariable()
    {
        // The fake checks a client assertion against the certificates registered on the app, so the "federated token"
        // here is a JWT signed by one. What reaches Entra is what Relay read from AZURE_FEDERATED_TOKEN_FILE; Entra's
        // federated-credential trust (issuer and subject) is not modelled.
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var signer = LoopbackCertificate.Create("Kubernetes service account issuer");
        cloud.RegisterAppCertificate(RelayStack.GraphTenantId, RelayStack.GraphClientId, signer);
        using var folder = new CertificateFolder();
        var tokenFile = Path.Combine(folder.Path, "azure-identity-token");
        var tokenEndpoint = new Uri(cloud.AuthorityHost, $"{RelayStack.GraphTenantId}/oauth2/v2.0/token").ToString();
        var federatedToken = SignedAssertion(signer, RelayStack.GraphClientId, tokenEndpoint);
        await File.WriteAllTextAsync(tokenFile, federatedToken);
        await using var stack = await RelayStack.StartAsync(cloud, senderSettings: new Dictionary<string, string?>
        {
            ["Graph:TenantId"] = null,
            ["Graph:ClientId"] = null,
            ["Graph:ClientSecret"] = null,
            ["Graph:Credential"] = "WorkloadIdentity",
            // Variables, as the AKS webhook sets them (configuration holds the environment).
            ["AZURE_TENANT_ID"] = RelayStack.GraphTenantId,
            ["AZURE_CLIENT_ID"] = RelayStack.GraphClientId,
            ["AZURE_FEDERATED_TOKEN_FILE"] = tokenFile,
        });

        await Send(stack);

        Assert.Single(cloud.SentMail);
        var form = Assert.Single(TokenForms(cloud));
        Assert.Equal(RelayStack.GraphClientId, form["client_id"]);
        Assert.Equal(federatedToken, form["client_assertion"]);
        Assert.Contains(stack.Logs, line => line.Contains($"signing in with workload identity, federated token file {tokenFile}", StringComparison.Ordinal));
        Assert.DoesNotContain(stack.Logs, line => line.Contains(federatedToken, StringComparison.Ordinal));
    }

    private static Task<string> Send(RelayStack stack) =>
        SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com"));

    /// <summary>Relay.Sender with <c>Graph:CertificateName</c>, checking the fake vault every second.</summary>
    private static Task<RelayStack> StartWithKeyVaultCertificateAsync(FakeMicrosoftCloud cloud)
    {
        var reader = KeyVaultReader.Register(cloud);
        return RelayStack.StartAsync(cloud,
            senderSettings: new Dictionary<string, string?>
            {
                ["Graph:ClientSecret"] = null,
                ["Graph:CertificateName"] = KeyVaultCertificate,
                ["Graph:CertificateRefreshInterval"] = "00:00:01",
                ["ConnectionStrings:secrets"] = cloud.KeyVaultUri.ToString(),
            },
            configureSender: builder =>
            {
                builder.Services.AddSingleton<TokenCredential>(reader);
                builder.Services.AddHttpClient(KeyVaultExtensions.HttpClientName).ConfigurePrimaryHttpMessageHandler(cloud.CreateTrustingHandler);
            },
            configureKeyVault: KeyVaultReader.Settings(cloud, reader));
    }

    /// <summary>The form of each client-credentials request Relay's app made to the token endpoint, in order (not the vault reader's).</summary>
    private static List<Dictionary<string, string>> TokenForms(FakeMicrosoftCloud cloud) =>
        cloud.Requests
            .Where(request => request.Path.EndsWith("/oauth2/v2.0/token", StringComparison.Ordinal))
            .Select(request => Encoding.UTF8.GetString(request.Body).Split('&', StringSplitOptions.RemoveEmptyEntries)
                .Select(pair => pair.Split('=', 2))
                .ToDictionary(pair => WebUtility.UrlDecode(pair[0]), pair => pair.Length > 1 ? WebUtility.UrlDecode(pair[1]) : string.Empty))
            .Where(form => form.GetValueOrDefault("grant_type") == "client_credentials" && form.GetValueOrDefault("client_id") == RelayStack.GraphClientId)
            .ToList();

    /// <summary>The certificate each client assertion names (its <c>x5t#S256</c> header, in hex), in order.</summary>
    private static List<string> AssertionCertificates(FakeMicrosoftCloud cloud) =>
        TokenForms(cloud).Select(form =>
        {
            using var header = JsonDocument.Parse(Base64Url.DecodeFromChars(form["client_assertion"].Split('.')[0]));
            return Convert.ToHexString(Base64Url.DecodeFromChars(header.RootElement.GetProperty("x5t#S256").GetString()));
        }).ToList();

    private static string Sha256(X509Certificate2 certificate) => Convert.ToHexString(SHA256.HashData(certificate.RawData));

    /// <summary>A JWT client assertion as Entra expects one (RFC 7523), signed by <paramref name="signer"/>.</summary>
    private static string SignedAssertion(X509Certificate2 signer, string clientId, string audience)
    {
        var now = DateTimeOffset.UtcNow;
        var header = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
        {
            ["alg"] = "RS256",
            ["typ"] = "JWT",
            ["x5t#S256"] = Base64Url.EncodeToString(SHA256.HashData(signer.RawData)),
        });
        var payload = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["iss"] = clientId,
            ["sub"] = clientId,
            ["aud"] = audience,
            ["jti"] = Guid.NewGuid().ToString(),
            ["nbf"] = now.AddMinutes(-1).ToUnixTimeSeconds(),
            ["exp"] = now.AddHours(1).ToUnixTimeSeconds(),
        });
        var signed = $"{Base64Url.EncodeToString(header)}.{Base64Url.EncodeToString(payload)}";
        using var key = signer.GetRSAPrivateKey()!;
        var signature = key.SignData(Encoding.ASCII.GetBytes(signed), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return $"{signed}.{Base64Url.EncodeToString(signature)}";
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Not reached within {WaitLimit.TotalSeconds} s.");
            await Task.Delay(100);
        }
    }

    /// <summary>A temporary folder for Relay's app certificate files, written the way an operator or a secret mount would.</summary>
    private sealed class CertificateFolder : IDisposable
    {
        public const string PfxPassword = "pfx-password-4417";

        public string Path { get; } = Directory.CreateTempSubdirectory("relay-app-certificate-").FullName;

        /// <summary>Writes <paramref name="certificate"/> as <paramref name="format"/> and returns the sender settings that name it (no client secret).</summary>
        public Dictionary<string, string?> Write(X509Certificate2 certificate, string format)
        {
            var certificatePem = certificate.ExportCertificatePem();
            var keyPem = certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem();
            var settings = new Dictionary<string, string?> { ["Graph:ClientSecret"] = null };
            switch (format)
            {
                case "pem":
                    WriteReplacing("app.crt", certificatePem);
                    WriteReplacing("app.key", keyPem);
                    settings["Graph:CertificatePath"] = Combine("app.crt");
                    settings["Graph:CertificateKeyPath"] = Combine("app.key");
                    break;
                case "pem-with-key-inside":
                    WriteReplacing("app.pem", keyPem + "\n" + certificatePem);
                    settings["Graph:CertificatePath"] = Combine("app.pem");
                    break;
                case "pfx":
                    File.WriteAllBytes(Combine("app.pfx"), certificate.Export(X509ContentType.Pkcs12, PfxPassword));
                    settings["Graph:CertificatePath"] = Combine("app.pfx");
                    settings["Graph:CertificatePassword"] = PfxPassword;
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(format), format, null);
            }
            return settings;
        }

        public void Dispose() => Directory.Delete(Path, recursive: true);

        private string Combine(string name) => System.IO.Path.Combine(Path, name);

        /// <summary>Writes beside and renames over, so a reader never sees half a file (as certbot and secret mounts do).</summary>
        private void WriteReplacing(string name, string content)
        {
            var temporary = Combine(name + ".new");
            File.WriteAllText(temporary, content);
            File.Move(temporary, Combine(name), overwrite: true);
        }
    }
}
