using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Azure.Security.KeyVault.Secrets;
using Relay.ServiceDefaults.Certificates;

namespace Relay.Sender.Delivery.Graph;

/// <summary>
/// One loaded version of Relay's app certificate (<c>Graph:CertificatePath</c> or <c>Graph:CertificateName</c>) and what
/// identifies that version: the files' stamp, or the Key Vault secret's version. Only the public part and thumbprint are
/// ever logged.
/// </summary>
public sealed record AppCertificate(X509Certificate2 Certificate, string Origin, CertificateFilesStamp Stamp = default, string? Version = null)
{
    /// <summary>Reads the files; their stamp is taken first, so a replacement written meanwhile is seen as a change later.</summary>
    /// <exception cref="Exception">See <see cref="CertificateMaterial.IsUnusable"/>.</exception>
    public static AppCertificate FromFiles(CertificateFiles files)
    {
        var stamp = files.ReadStamp();
        var (leaf, _) = files.Load();
        var hint = files.IsPkcs12 ? "that the PKCS#12 file was exported with its private key" : "Graph:CertificateKeyPath";
        return new AppCertificate(WithKey(leaf, hint), $"file {files.CertificatePath}", stamp);
    }

    /// <summary>A Key Vault certificate's secret (its content type says PKCS#12 or PEM).</summary>
    /// <exception cref="Exception">See <see cref="CertificateMaterial.IsUnusable"/>.</exception>
    public static AppCertificate FromKeyVault(KeyVaultSecret secret, Uri vault)
    {
        var (leaf, _) = KeyVaultCertificateSecret.Load(secret.Value, secret.Properties.ContentType);
        return new AppCertificate(WithKey(leaf, "the certificate policy's exportable key"),
            $"Key Vault certificate {secret.Name} version {secret.Properties.Version} in {vault}", Version: secret.Properties.Version);
    }

    /// <summary>For logs: subject, thumbprint, expiry and where it came from. Never the key.</summary>
    public override string ToString() =>
        $"certificate {Certificate.Subject} (thumbprint {Certificate.Thumbprint}, valid until {Certificate.NotAfter.ToUniversalTime():u}) from {Origin}";

    private static X509Certificate2 WithKey(X509Certificate2 leaf, string hint) => leaf.HasPrivateKey
        ? leaf
        : throw new InvalidOperationException($"the certificate has no private key (check {hint}).");
}
