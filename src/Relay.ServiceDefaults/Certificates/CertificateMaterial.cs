using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Relay.ServiceDefaults.Certificates;

/// <summary>
/// A certificate and its chain from PKCS#12 or PEM content, wherever that content came from (files, Key Vault): Relay.Smtp's
/// TLS certificate and Relay.Sender's app certificate alike. The leaf is the certificate with a private key (or the first
/// one, which the caller then refuses); every other certificate is an intermediate.
/// </summary>
public static class CertificateMaterial
{
    /// <summary>
    /// What loading throws for content that is not a certificate with its private key, or for files that cannot be read:
    /// the one test, for files and Key Vault alike, of "this replacement cannot be used; keep the one in use".
    /// </summary>
    public static bool IsUnusable(Exception ex) =>
        ex is CryptographicException or FormatException or InvalidOperationException or IOException or UnauthorizedAccessException;

    public static (X509Certificate2 Leaf, X509Certificate2Collection Intermediates) FromPkcs12(byte[] content, string? password)
    {
        var all = X509CertificateLoader.LoadPkcs12Collection(content, password);
        if (all.Count == 0)
        {
            throw new InvalidOperationException("the PKCS#12 content holds no certificate.");
        }
        return Split(all.FirstOrDefault(c => c.HasPrivateKey) ?? all[0], all);
    }

    /// <summary>
    /// PEM: the first certificate in <paramref name="certificatePem"/> with the private key in <paramref name="keyPem"/>
    /// (the same text when both are in one file), encrypted when <paramref name="password"/> is given.
    /// </summary>
    public static (X509Certificate2 Leaf, X509Certificate2Collection Intermediates) FromPem(string certificatePem, string keyPem, string? password)
    {
        var leaf = string.IsNullOrEmpty(password)
            ? X509Certificate2.CreateFromPem(certificatePem, keyPem)
            : X509Certificate2.CreateFromEncryptedPem(certificatePem, keyPem, password);
        var all = new X509Certificate2Collection();
        all.ImportFromPem(certificatePem);
        return Split(leaf, all);
    }

    private static (X509Certificate2 Leaf, X509Certificate2Collection Intermediates) Split(X509Certificate2 leaf, X509Certificate2Collection all) =>
        (leaf, new X509Certificate2Collection(all.Where(c => c.Thumbprint != leaf.Thumbprint).ToArray()));
}
