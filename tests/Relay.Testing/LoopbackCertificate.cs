using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Relay.Testing;

/// <summary>Self-signed TLS certificates for 127.0.0.1 and localhost: the fake cloud's, and Relay.Smtp's in TLS tests.</summary>
public static class LoopbackCertificate
{
    private const string ServerAuthenticationOid = "1.3.6.1.5.5.7.3.1";

    /// <summary>A certificate with its private key, ready for SslStream.</summary>
    /// <param name="commonName">The subject's CN.</param>
    /// <param name="dnsNames">Host names the certificate covers besides 127.0.0.1 and localhost.</param>
    public static X509Certificate2 Create(string commonName = "Relay.Testing fake Microsoft cloud", IEnumerable<string>? dnsNames = null)
    {
        using var key = RSA.Create(2048);
        using var ephemeral = CreateSelfSigned(commonName, key, dnsNames);

        // A round trip through PKCS#12 gives a certificate whose private key SslStream can use on every platform.
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), password: null);
    }

    /// <summary>
    /// Writes a new certificate as <c>cert.pem</c> and <c>key.pem</c> (PKCS#8) in <paramref name="directory"/>, replacing
    /// what is there, the way certbot or a secret mount would; returns the certificate (public part).
    /// </summary>
    public static X509Certificate2 WritePemFiles(string directory, string commonName)
    {
        using var key = RSA.Create(2048);
        using var certificate = CreateSelfSigned(commonName, key);
        File.WriteAllText(Path.Combine(directory, "cert.pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "key.pem"), key.ExportPkcs8PrivateKeyPem());
        return X509CertificateLoader.LoadCertificate(certificate.RawData);
    }

    private static X509Certificate2 CreateSelfSigned(string commonName, RSA key, IEnumerable<string>? dnsNames = null)
    {
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

        var subjectAlternativeNames = new SubjectAlternativeNameBuilder();
        subjectAlternativeNames.AddIpAddress(IPAddress.Loopback);
        subjectAlternativeNames.AddDnsName("localhost");
        foreach (var dnsName in dnsNames ?? [])
        {
            subjectAlternativeNames.AddDnsName(dnsName);
        }
        request.CertificateExtensions.Add(subjectAlternativeNames.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuthenticationOid)], critical: false));

        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(30));
    }
}
