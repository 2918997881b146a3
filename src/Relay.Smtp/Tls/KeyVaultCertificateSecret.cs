using System.Security.Cryptography.X509Certificates;

namespace Relay.Smtp.Tls;

/// <summary>
/// Reads a Key Vault certificate from its secret, which is how Key Vault hands out a certificate together with its
/// private key. The secret's content type is the certificate policy's: <c>application/x-pkcs12</c> (the default) is a
/// base64 PKCS#12 file without a password; <c>application/x-pem-file</c> is PEM, the private key and the certificates.
/// </summary>
internal static class KeyVaultCertificateSecret
{
    public const string Pkcs12ContentType = "application/x-pkcs12";
    public const string PemContentType = "application/x-pem-file";

    /// <summary>
    /// The certificate with a private key (or the first one, when none has a key: <see cref="ServerCertificate.Replace"/>
    /// refuses it), and the other certificates in the secret as intermediates.
    /// </summary>
    /// <exception cref="FormatException">A PKCS#12 secret that is not base64.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">Content that is not a certificate with a key.</exception>
    /// <exception cref="InvalidOperationException">An unknown content type, or no certificate.</exception>
    public static (X509Certificate2 Leaf, X509Certificate2Collection Intermediates) Load(string value, string? contentType)
    {
        var (leaf, all) = contentType?.Trim().ToLowerInvariant() switch
        {
            Pkcs12ContentType => LoadPkcs12(value),
            PemContentType => LoadPem(value),
            _ => throw new InvalidOperationException(
                $"the secret's content type is '{contentType}', not {Pkcs12ContentType} or {PemContentType}; is it a Key Vault certificate?"),
        };
        var intermediates = new X509Certificate2Collection(all.Where(c => c.Thumbprint != leaf.Thumbprint).ToArray());
        return (leaf, intermediates);
    }

    private static (X509Certificate2 Leaf, X509Certificate2Collection All) LoadPkcs12(string value)
    {
        var all = X509CertificateLoader.LoadPkcs12Collection(Convert.FromBase64String(value), password: null);
        if (all.Count == 0)
        {
            throw new InvalidOperationException("the PKCS#12 content holds no certificate.");
        }
        return (all.FirstOrDefault(c => c.HasPrivateKey) ?? all[0], all);
    }

    private static (X509Certificate2 Leaf, X509Certificate2Collection All) LoadPem(string value)
    {
        // Key Vault writes the private key first, then the certificate, then any chain. Given the same text for both,
        // CreateFromPem takes the first certificate and the private key, wherever they are.
        var leaf = X509Certificate2.CreateFromPem(value, value);
        var all = new X509Certificate2Collection();
        all.ImportFromPem(value);
        return (leaf, all);
    }
}
