using System.Security.Cryptography.X509Certificates;

namespace Relay.ServiceDefaults.Certificates;

/// <summary>
/// Reads a Key Vault certificate from its secret, which is how Key Vault hands out a certificate together with its
/// private key. The secret's content type is the certificate policy's: <c>application/x-pkcs12</c> (the default) is a
/// base64 PKCS#12 file without a password; <c>application/x-pem-file</c> is PEM, the private key and the certificates.
/// </summary>
public static class KeyVaultCertificateSecret
{
    public const string Pkcs12ContentType = "application/x-pkcs12";
    public const string PemContentType = "application/x-pem-file";

    /// <summary>Whether a secret's content type is a certificate's (parameters and case aside).</summary>
    public static bool IsCertificateContentType(string? contentType)
    {
        var mediaType = contentType?.Split(';', 2)[0].Trim();
        return string.Equals(mediaType, Pkcs12ContentType, StringComparison.OrdinalIgnoreCase)
            || string.Equals(mediaType, PemContentType, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The certificate with a private key (or the first one, when none has a key: the caller refuses it), and the other
    /// certificates in the secret as intermediates.
    /// </summary>
    /// <exception cref="FormatException">A PKCS#12 secret that is not base64.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">Content that is not a certificate with a key.</exception>
    /// <exception cref="InvalidOperationException">An unknown content type, or no certificate.</exception>
    public static (X509Certificate2 Leaf, X509Certificate2Collection Intermediates) Load(string value, string? contentType) =>
        contentType?.Trim().ToLowerInvariant() switch
        {
            Pkcs12ContentType => CertificateMaterial.FromPkcs12(Convert.FromBase64String(value), password: null),
            // Key Vault writes the private key first, then the certificate, then any chain; one text serves for both.
            PemContentType => CertificateMaterial.FromPem(value, value, password: null),
            _ => throw new InvalidOperationException(
                $"the secret's content type is '{contentType}', not {Pkcs12ContentType} or {PemContentType}; is it a Key Vault certificate?"),
        };
}
