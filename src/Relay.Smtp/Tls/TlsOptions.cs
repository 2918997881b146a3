using System.ComponentModel.DataAnnotations;

namespace Relay.Smtp.Tls;

/// <summary>Configuration section <c>Smtp:Tls</c>: the server certificate and when TLS is required.</summary>
public sealed class TlsOptions
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
    /// AUTH only over TLS (RFC 4954 §4, RFC 8314): AUTH is neither advertised nor accepted in clear text. Loopback
    /// clients are exempt, since nothing between them and Relay can listen.
    /// </summary>
    public bool RequireForAuth { get; set; } = true;

    /// <summary>MAIL only over TLS: a client in clear text is told 530 to STARTTLS first. Loopback clients are exempt.</summary>
    public bool RequireForMail { get; set; }

    /// <summary>How long a client may take to finish the TLS handshake.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public bool HasCertificate => !string.IsNullOrWhiteSpace(CertificatePath);

    internal IEnumerable<ValidationResult> Validate()
    {
        if (HandshakeTimeout < TimeSpan.FromSeconds(1) || HandshakeTimeout > TimeSpan.FromMinutes(5))
        {
            yield return new ValidationResult("Smtp:Tls:HandshakeTimeout must be between 1 second and 5 minutes.", [nameof(HandshakeTimeout)]);
        }
        if (!HasCertificate)
        {
            if (!string.IsNullOrWhiteSpace(KeyPath))
            {
                yield return new ValidationResult("Smtp:Tls:KeyPath is set but Smtp:Tls:CertificatePath is not.", [nameof(KeyPath)]);
            }
            if (RequireForMail)
            {
                yield return new ValidationResult(
                    "Smtp:Tls:RequireForMail needs a certificate: set Smtp:Tls:CertificatePath.", [nameof(RequireForMail)]);
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
}
