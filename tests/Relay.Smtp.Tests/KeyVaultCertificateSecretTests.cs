using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Relay.ServiceDefaults.Certificates;
using Relay.Smtp.Tls;
using Relay.Testing;

namespace Relay.Smtp.Tests;

/// <summary>A Key Vault certificate's secret read the way Key Vault writes it, and handed to <see cref="ServerCertificate"/>.</summary>
public class KeyVaultCertificateSecretTests
{
    [Fact]
    public void APkcs12SecretGivesTheCertificateWithItsKey()
    {
        using var certificate = LoopbackCertificate.Create("relay.test pfx");

        var (leaf, intermediates) = KeyVaultCertificateSecret.Load(
            Convert.ToBase64String(certificate.Export(X509ContentType.Pkcs12)), "application/x-pkcs12");

        Assert.Equal(certificate.Thumbprint, leaf.Thumbprint);
        Assert.True(leaf.HasPrivateKey);
        Assert.Empty(intermediates);
    }

    [Fact]
    public void APemSecretWithTheKeyFirstGivesTheCertificateWithItsKeyAndTheChainAsIntermediates()
    {
        using var certificate = LoopbackCertificate.Create("relay.test pem");
        using var issuer = LoopbackCertificate.Create("relay.test issuer");
        var pem = certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem() + "\n"
            + certificate.ExportCertificatePem() + "\n" + issuer.ExportCertificatePem() + "\n";

        var (leaf, intermediates) = KeyVaultCertificateSecret.Load(pem, "application/x-pem-file");

        Assert.Equal(certificate.Thumbprint, leaf.Thumbprint);
        Assert.True(leaf.HasPrivateKey);
        Assert.Equal(issuer.Thumbprint, Assert.Single(intermediates).Thumbprint);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("text/plain")]
    public void ASecretThatIsNotACertificateIsRefusedNamingItsContentType(string? contentType)
    {
        var error = Assert.Throws<InvalidOperationException>(() => KeyVaultCertificateSecret.Load("s3cret", contentType));

        Assert.Contains($"'{contentType}'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APkcs12SecretThatIsNotBase64IsRefused() =>
        Assert.Throws<FormatException>(() => KeyVaultCertificateSecret.Load("not base64!", "application/x-pkcs12"));

    [Fact]
    public void APemSecretWithoutAKeyIsRefused()
    {
        using var certificate = LoopbackCertificate.Create("relay.test");

        Assert.Throws<CryptographicException>(() => KeyVaultCertificateSecret.Load(certificate.ExportCertificatePem(), "application/x-pem-file"));
    }

    [Fact]
    public void AKeyVaultCertificateIsConfiguredBeforeItIsLoadedAndPresentedOnceReplaced()
    {
        var options = Options.Create(new SmtpOptions { Tls = { KeyVaultCertificateName = "relay-tls" } });
        var server = new ServerCertificate(options, NullLogger<ServerCertificate>.Instance, TimeProvider.System);
        using var first = LoopbackCertificate.Create("relay.test first");
        using var second = LoopbackCertificate.Create("relay.test second");

        Assert.True(server.IsConfigured);
        Assert.Throws<InvalidOperationException>(() => server.Current);
        server.Replace(first, []);
        var firstContext = server.AuthenticationOptions().ServerCertificateContext;
        server.Replace(second, []);

        Assert.Equal(first.Thumbprint, firstContext!.TargetCertificate.Thumbprint);
        Assert.Equal(second.Thumbprint, server.Current!.Thumbprint);
        Assert.Equal(second.Thumbprint, server.AuthenticationOptions().ServerCertificateContext!.TargetCertificate.Thumbprint);
    }

    [Fact]
    public void ASecretWithoutThePrivateKeyIsRefusedAndTheCertificateInUseStays()
    {
        var options = Options.Create(new SmtpOptions { Tls = { KeyVaultCertificateName = "relay-tls" } });
        var server = new ServerCertificate(options, NullLogger<ServerCertificate>.Instance, TimeProvider.System);
        using var inUse = LoopbackCertificate.Create("relay.test");
        using var other = LoopbackCertificate.Create("relay.test other");
        using var publicOnly = X509CertificateLoader.LoadCertificate(other.RawData);
        server.Replace(inUse, []);
        var (leaf, intermediates) = KeyVaultCertificateSecret.Load(
            Convert.ToBase64String(publicOnly.Export(X509ContentType.Pkcs12)), "application/x-pkcs12");

        var error = Assert.Throws<InvalidOperationException>(() => server.Replace(leaf, intermediates));

        Assert.Contains("no private key", error.Message, StringComparison.Ordinal);
        Assert.Equal(inUse.Thumbprint, server.Current!.Thumbprint);
    }
}
