using Microsoft.Extensions.Options;

namespace Relay.EndToEnd.Tests;

/// <summary>A wrong configuration stops a service at start-up with a message that names the key.</summary>
public class ConfigurationTests
{
    [Fact]
    public async Task GraphDeliveryWithoutItsSecretFailsAtStartNamingTheKey()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RelayStack.StartAsync(senderSettings: new Dictionary<string, string?>
        {
            ["Graph:TenantId"] = "contoso.onmicrosoft.com",
            ["Graph:ClientId"] = "22222222-2222-2222-2222-222222222222",
        }));

        Assert.Contains("Graph:ClientSecret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAccountWithAPlaintextPasswordFailsAtStartNamingTheKey()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RelayStack.StartAsync(senderSettings: new Dictionary<string, string?>
        {
            ["Identity:Accounts:scanner:PasswordHash"] = "hunter2",
            ["Identity:Accounts:scanner:AllowedSenders:0"] = "scanner@contoso.com",
        }));

        Assert.Contains("Identity:Accounts:scanner:PasswordHash", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Smtp:BindAddress", "localhost-ish")]
    [InlineData("Smtp:Anonymous:AllowedNetworks:0", "10.0.0.0/33")]
    [InlineData("Smtp:MaxRecipients", "501")]
    [InlineData("Smtp:AllowedNetworks:0", "everyone")]
    [InlineData("Smtp:Tls:CertificatePath", "/nonexistent/relay-cert.pem")]
    [InlineData("Smtp:ImplicitTlsPort", "4650")]
    [InlineData("Smtp:Tls:RequireForMail", "true")]
    [InlineData("Smtp:MaxTextLineLength", "200")]
    [InlineData("Smtp:MinDataRate", "-1")]
    [InlineData("Smtp:AuthFailureDelay", "00:05:00")]
    [InlineData("Smtp:Tls:HandshakeTimeout", "00:10:00")]
    public async Task ABadSmtpSettingFailsAtStartNamingTheKey(string key, string value)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => RelayStack.StartAsync(smtpSettings: new Dictionary<string, string?> { [key] = value }));

        var validation = error as OptionsValidationException ?? error.InnerException as OptionsValidationException;
        Assert.NotNull(validation);
        Assert.True(validation.Message.Contains(key.Replace(":0", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal), validation.Message);
    }

    [Fact]
    public async Task ACertificateFileThatIsNotACertificateFailsAtStartNamingTheKey()
    {
        var directory = Directory.CreateTempSubdirectory("relay-bad-cert-");
        try
        {
            var path = Path.Combine(directory.FullName, "cert.pem");
            await File.WriteAllTextAsync(path, "not a certificate");

            var error = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => RelayStack.StartAsync(smtpSettings: new Dictionary<string, string?>
            {
                ["Smtp:Tls:CertificatePath"] = path,
            }));

            Assert.Contains("Smtp:Tls:CertificatePath", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
