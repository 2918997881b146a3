using System.Security.Cryptography.X509Certificates;

namespace Relay.ServiceDefaults.Certificates;

/// <summary>
/// A certificate kept in files: PKCS#12 (<c>.pfx</c>/<c>.p12</c>, with an optional password) or PEM (the certificate, then
/// any intermediates, with the private key in the same file or in <see cref="KeyPath"/>, encrypted when a password is
/// given). <see cref="ReadStamp"/> tells whether the files were replaced since they were loaded (certbot, a Kubernetes or
/// Container Apps secret mount, an operator copying files), so a reader can load them again without a restart.
/// </summary>
/// <param name="CertificatePath">The certificate file.</param>
/// <param name="KeyPath">The PEM private key, when it is not in the certificate file.</param>
/// <param name="Password">The PKCS#12 password or the PEM key's passphrase. Never logged.</param>
public sealed record CertificateFiles(string CertificatePath, string? KeyPath, string? Password)
{
    public bool IsPkcs12 => Path.GetExtension(CertificatePath).ToLowerInvariant() is ".pfx" or ".p12";

    /// <summary>Reads the files: the certificate with a private key (or the first one, which the caller then refuses), and the intermediates.</summary>
    /// <exception cref="System.Security.Cryptography.CryptographicException">Content that is not a certificate, or a key that does not match.</exception>
    /// <exception cref="IOException">A file that cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">A file the service may not read.</exception>
    /// <exception cref="InvalidOperationException">A PKCS#12 file without a certificate.</exception>
    public (X509Certificate2 Leaf, X509Certificate2Collection Intermediates) Load()
    {
        if (IsPkcs12)
        {
            return CertificateMaterial.FromPkcs12(File.ReadAllBytes(CertificatePath), Password);
        }
        var certificatePem = File.ReadAllText(CertificatePath);
        var keyPem = string.IsNullOrWhiteSpace(KeyPath) ? certificatePem : File.ReadAllText(KeyPath);
        return CertificateMaterial.FromPem(certificatePem, keyPem, Password);
    }

    /// <summary>What identifies this version of the files; read it before <see cref="Load"/> and compare it later.</summary>
    public CertificateFilesStamp ReadStamp() => new(FileStamp.Of(CertificatePath), FileStamp.Of(KeyPath));

    // Records print their members; the password must not be.
    public override string ToString() => KeyPath is null ? CertificatePath : $"{CertificatePath} (key {KeyPath})";
}

/// <summary>One version of a certificate's files: equal stamps mean the files were not replaced.</summary>
public readonly record struct CertificateFilesStamp(FileStamp Certificate, FileStamp Key);

/// <summary>What identifies one version of a file: where a symbolic link points (secret mounts swap links), its time and size.</summary>
public readonly record struct FileStamp(string? Target, DateTime LastWriteUtc, long Length)
{
    public static FileStamp Of(string? path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return default;
        }
        var file = new FileInfo(path);
        var target = file.ResolveLinkTarget(returnFinalTarget: true) as FileInfo;
        var real = target ?? file;
        return new FileStamp(target?.FullName, real.LastWriteTimeUtc, real.Length);
    }
}
