using Relay.Smtp.Tls;

namespace Relay.Smtp.Tests;

/// <summary><c>Smtp:Tls</c> with a Key Vault certificate: what start-up accepts and what it refuses, naming the key.</summary>
public class TlsOptionsValidationTests
{
    [Fact]
    public void AKeyVaultCertificateAloneIsValidAndAllowsImplicitTlsAndRequireForMail()
    {
        var options = new SmtpOptions
        {
            ImplicitTlsPort = 4650,
            Tls = new TlsOptions { KeyVaultCertificateName = "relay-smtp-tls", RequireForMail = true },
        };

        var result = new SmtpOptionsValidator().Validate(null, options);

        Assert.True(result.Succeeded, result.FailureMessage);
        Assert.True(options.Tls.HasCertificate);
    }

    [Theory]
    [InlineData(nameof(TlsOptions.CertificatePath), "/etc/relay/tls/fullchain.pem", "Smtp:Tls:CertificatePath and Smtp:Tls:KeyVaultCertificateName are both set")]
    [InlineData(nameof(TlsOptions.KeyPath), "/etc/relay/tls/privkey.pem", "Smtp:Tls:KeyPath belongs to Smtp:Tls:CertificatePath")]
    [InlineData(nameof(TlsOptions.CertificatePassword), "pfx-password", "Smtp:Tls:CertificatePassword belongs to Smtp:Tls:CertificatePath")]
    [InlineData(nameof(TlsOptions.KeyVaultCertificateName), "relay_smtp.tls", "Smtp:Tls:KeyVaultCertificateName 'relay_smtp.tls' is not a Key Vault certificate name")]
    [InlineData(nameof(TlsOptions.KeyVaultRefreshInterval), "00:00:00.5", "Smtp:Tls:KeyVaultRefreshInterval must be between 1 second and 1 day")]
    [InlineData(nameof(TlsOptions.KeyVaultRefreshInterval), "1.00:00:01", "Smtp:Tls:KeyVaultRefreshInterval must be between 1 second and 1 day")]
    public void AKeyVaultCertificateWithAConflictingOrBadSettingFailsNamingTheKey(string property, string value, string expected)
    {
        var tls = new TlsOptions { KeyVaultCertificateName = "relay-smtp-tls" };
        switch (property)
        {
            case nameof(TlsOptions.CertificatePath): tls.CertificatePath = value; break;
            case nameof(TlsOptions.KeyPath): tls.KeyPath = value; break;
            case nameof(TlsOptions.CertificatePassword): tls.CertificatePassword = value; break;
            case nameof(TlsOptions.KeyVaultCertificateName): tls.KeyVaultCertificateName = value; break;
            case nameof(TlsOptions.KeyVaultRefreshInterval): tls.KeyVaultRefreshInterval = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
        }

        var result = new SmtpOptionsValidator().Validate(null, new SmtpOptions { Tls = tls });

        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void ImplicitTlsWithoutAnyCertificateNamesBothSources()
    {
        var result = new SmtpOptionsValidator().Validate(null, new SmtpOptions { ImplicitTlsPort = 4650 });

        Assert.Contains("set Smtp:Tls:CertificatePath or Smtp:Tls:KeyVaultCertificateName", result.FailureMessage, StringComparison.Ordinal);
    }
}
