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

    [Theory]
    [InlineData("Identity:AppLogins:Lookup:floor2:TenantId", "contoso.onmicrosoft.com", "Identity:AppLogins:Lookup:floor2:TenantId")]
    [InlineData("Identity:AppLogins:Lookup:floor2:From", "not an address", "Identity:AppLogins:Lookup:floor2:From")]
    [InlineData("Identity:AppLogins:RequireLookup", "true", "Identity:AppLogins:RequireLookup")]
    [InlineData("Identity:AppLogins:Table:Endpoint", "http://tables.example/", "Identity:AppLogins:Table:Endpoint")]
    [InlineData("Identity:MailboxLogins:Domains:0", "user@contoso.com", "Identity:MailboxLogins:Domains")]
    [InlineData("Identity:MailboxLogins:Enabled", "true", "Graph:TenantId and Graph:ClientId")]
    [InlineData("Identity:TokenCache:MaxEntries", "0", "Identity:TokenCache:MaxEntries")]
    [InlineData("Identity:TokenCache:RefreshBeforeExpiry", "01:00:00", "Identity:TokenCache:RefreshBeforeExpiry")]
    public async Task ABadIdentitySettingFailsAtStartNamingTheKey(string key, string value, string named)
    {
        var settings = new Dictionary<string, string?> { [key] = value };
        if (key.StartsWith("Identity:AppLogins:Lookup", StringComparison.Ordinal))
        {
            settings.TryAdd("Identity:AppLogins:Lookup:floor2:TenantId", "6f1c3a52-8b0e-4a7d-9c2f-1e5d7b3a9f04");
            settings.TryAdd("Identity:AppLogins:Lookup:floor2:ClientId", "0d6e8f2a-4c1b-4e3f-8a9d-7b2c5e1f3a60");
        }

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => RelayStack.StartAsync(senderSettings: settings));

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
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
