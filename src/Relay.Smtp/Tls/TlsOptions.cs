using System.ComponentModel.DataAnnotations;

namespace Relay.Smtp.Tls;

/// <summary>Configuration section <c>Smtp:Tls</c>: the server certificate and when TLS is required.</summary>
public sealed class TlsOptions : IValidatableObject
{
    /// <summary>
    /// Certificate file: PEM (certificate first, then any intermediates) or PKCS#12 (<c>.pfx</c>/<c>.p12</c>). Replacing the
    /// file (or the key file) takes effect at the next handshake, without a restart. Unset: no STARTTLS, no implicit TLS.
    /// </summary>
    public string? CertificatePath { get; set; }

    /// <summary>PEM private key file when it is not inside <see cref="CertificatePath"/>.</summary>
    public string? KeyPath { get; set; }

    /// <summary>Password of the PKCS#12 file or of an encrypted PEM key. A secret: keep it in Key Vault or user secrets.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>
    /// Name of a Key Vault certificate (in the vault of <c>ConnectionStrings:secrets</c>), instead of
    /// <see cref="CertificatePath"/>. Relay reads it through the secret of the same name, which is how Key Vault hands out a
    /// certificate with its private key, so Relay's identity needs the "Key Vault Secrets User" role on the vault.
    /// </summary>
    public string? KeyVaultCertificateName { get; set; }

    /// <summary>
    /// How often Relay asks Key Vault whether the certificate has a new version; a new one is used from the next
    /// handshake on. A certificate policy renews at a percentage of the lifetime or a number of days before expiry, so a
    /// renewal lands days or weeks before the old certificate runs out: an hour is plenty for that, still puts a manual
    /// replacement (a compromised key) in service within the hour, and costs one request per hour per replica, far
    /// below Key Vault's service limits. At least 1 second (tests), at most 1 day.
    /// </summary>
    public TimeSpan KeyVaultRefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// AUTH only over TLS (RFC 4954 §4, RFC 8314): AUTH is neither advertised nor accepted in clear text. Loopback
    /// clients are exempt, since nothing between them and Relay can listen.
    /// </summary>
    public bool RequireForAuth { get; set; } = true;

    /// <summary>MAIL only over TLS: a client in clear text is told 530 to STARTTLS first. Loopback clients are exempt.</summary>
    public bool RequireForMail { get; set; }

    /// <summary>How long a client may take to finish the TLS handshake.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00", ErrorMessage = "Smtp:Tls:HandshakeTimeout must be between 1 second and 5 minutes.")]
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A certificate is configured, from files or from Key Vault: STARTTLS is offered and implicit TLS allowed.</summary>
    public bool HasCertificate => HasCertificateFile || HasKeyVaultCertificate;

    public bool HasCertificateFile => !string.IsNullOrWhiteSpace(CertificatePath);

    public bool HasKeyVaultCertificate => !string.IsNullOrWhiteSpace(KeyVaultCertificateName);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (HasKeyVaultCertificate)
        {
            foreach (var result in ValidateKeyVault())
            {
                yield return result;
            }
            yield break;
        }
        if (!HasCertificateFile)
        {
            if (!string.IsNullOrWhiteSpace(KeyPath))
            {
                yield return new ValidationResult("Smtp:Tls:KeyPath is set but Smtp:Tls:CertificatePath is not.", [nameof(KeyPath)]);
            }
            if (RequireForMail)
            {
                yield return new ValidationResult(
                    "Smtp:Tls:RequireForMail needs a certificate: set Smtp:Tls:CertificatePath or Smtp:Tls:KeyVaultCertificateName.", [nameof(RequireForMail)]);
            }
            yield break;
        }
        if (!File.Exists(CertificatePath))
        {
            yield return new ValidationResult($"Smtp:Tls:CertificatePath '{CertificatePath}' does not exist.", [nameof(CertificatePath)]);
        }
        if (!string.IsNullOrWhiteSpace(KeyPath) && !File.Exists(KeyPath))
        {
            yield return new ValidationResult($"Smtp:Tls:KeyPath '{KeyPath}' does not exist.", [nameof(KeyPath)]);
        }
    }

    private IEnumerable<ValidationResult> ValidateKeyVault()
    {
        if (HasCertificateFile)
        {
            yield return new ValidationResult(
                "Smtp:Tls:CertificatePath and Smtp:Tls:KeyVaultCertificateName are both set; choose one certificate source.",
                [nameof(CertificatePath), nameof(KeyVaultCertificateName)]);
        }
        if (!string.IsNullOrWhiteSpace(KeyPath))
        {
            yield return new ValidationResult(
                "Smtp:Tls:KeyPath belongs to Smtp:Tls:CertificatePath; a Key Vault certificate (Smtp:Tls:KeyVaultCertificateName) carries its own key.",
                [nameof(KeyPath)]);
        }
        if (!string.IsNullOrEmpty(CertificatePassword))
        {
            yield return new ValidationResult(
                "Smtp:Tls:CertificatePassword belongs to Smtp:Tls:CertificatePath; Key Vault hands out certificates without a password (Smtp:Tls:KeyVaultCertificateName).",
                [nameof(CertificatePassword)]);
        }
        if (!KeyVaultOptions.IsObjectName(KeyVaultCertificateName!))
        {
            yield return new ValidationResult(
                $"Smtp:Tls:KeyVaultCertificateName '{KeyVaultCertificateName}' is not a Key Vault certificate name (1 to 127 letters, digits and hyphens).",
                [nameof(KeyVaultCertificateName)]);
        }
        if (KeyVaultRefreshInterval < TimeSpan.FromSeconds(1) || KeyVaultRefreshInterval > TimeSpan.FromDays(1))
        {
            yield return new ValidationResult(
                "Smtp:Tls:KeyVaultRefreshInterval must be between 1 second and 1 day.", [nameof(KeyVaultRefreshInterval)]);
        }
    }
}
