using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using Relay.ServiceDefaults.Certificates;

namespace Relay.Smtp.Tls;

/// <summary>
/// The certificate Relay.Smtp presents, read from <c>Smtp:Tls</c>. Before each handshake the files' timestamps and sizes
/// are compared with what was loaded, so a renewed certificate (certbot, a Kubernetes or Container Apps secret mount,
/// an operator copying files) is used from the next handshake on without a restart. A replacement that cannot be
/// loaded (half-written, key not matching) is logged once and the previous certificate stays in use.
/// With <c>Smtp:Tls:KeyVaultCertificateName</c> there are no files: <see cref="KeyVaultCertificateRefresher"/> loads the
/// certificate before the listeners start and hands each new version to <see cref="Replace"/>.
/// </summary>
public sealed partial class ServerCertificate
{
    private static readonly TimeSpan ExpiryWarning = TimeSpan.FromDays(14);

    private readonly TlsOptions _options;
    private readonly CertificateFiles? _files;
    private readonly ILogger<ServerCertificate> _logger;
    private readonly TimeProvider _time;
    private readonly Lock _reloading = new();
    private Loaded? _current;
    private CertificateFilesStamp _failedStamp;

    public ServerCertificate(IOptions<SmtpOptions> options, ILogger<ServerCertificate> logger, TimeProvider time)
    {
        _options = options.Value.Tls;
        _logger = logger;
        _time = time;
        if (!_options.HasCertificateFile)
        {
            return;
        }
        _files = new CertificateFiles(_options.CertificatePath!, _options.KeyPath, _options.CertificatePassword);
        try
        {
            _current = Load(_files.ReadStamp());
        }
        catch (Exception ex) when (CertificateMaterial.IsUnusable(ex))
        {
            throw new InvalidOperationException(
                $"Smtp:Tls:CertificatePath '{_options.CertificatePath}' could not be loaded: {ex.Message}", ex);
        }
    }

    /// <summary>A certificate is configured (files or Key Vault): STARTTLS is offered.</summary>
    public bool IsConfigured => _options.HasCertificate;

    /// <summary>The certificate now in use (after any reload); null when TLS is not configured.</summary>
    public X509Certificate2? Current => IsConfigured ? Refresh().Certificate : null;

    /// <summary>Server options for one handshake: TLS 1.2 or 1.3 (RFC 8314 §4.1, RFC 8996), no client certificate.</summary>
    public SslServerAuthenticationOptions AuthenticationOptions() => new()
    {
        ServerCertificateContext = Refresh().Context,
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        ClientCertificateRequired = false,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
    };

    /// <summary>
    /// Puts a certificate from memory in use (Key Vault); the next handshake presents it. Throws, leaving the certificate
    /// in use unchanged, when it has no private key or cannot be prepared for TLS.
    /// </summary>
    internal X509Certificate2 Replace(X509Certificate2 leaf, X509Certificate2Collection intermediates)
    {
        if (!leaf.HasPrivateKey)
        {
            throw new InvalidOperationException("the certificate has no private key (its Key Vault policy must make the key exportable).");
        }
        var loaded = Prepare(leaf, intermediates, default, "Key Vault renews it when its certificate policy says so");
        Volatile.Write(ref _current, loaded);
        return loaded.Certificate;
    }

    private Loaded Refresh()
    {
        var current = Volatile.Read(ref _current)
            ?? throw new InvalidOperationException("No TLS certificate is loaded (Smtp:Tls:CertificatePath or Smtp:Tls:KeyVaultCertificateName).");
        if (_files is null)
        {
            return current;
        }
        CertificateFilesStamp stamp;
        try
        {
            stamp = _files.ReadStamp();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return current;
        }
        if (stamp == current.Stamp || stamp == _failedStamp)
        {
            return current;
        }
        lock (_reloading)
        {
            if (_current!.Stamp == stamp || stamp == _failedStamp)
            {
                return _current;
            }
            try
            {
                _current = Load(stamp);
                LogReloaded(_logger, _current.Certificate.Subject, _current.Certificate.Thumbprint, _current.Certificate.NotAfter);
            }
            catch (Exception ex) when (CertificateMaterial.IsUnusable(ex))
            {
                _failedStamp = stamp;
                LogReloadFailed(_logger, _options.CertificatePath!, ex.Message);
            }
            return _current;
        }
    }

    private Loaded Load(CertificateFilesStamp stamp)
    {
        var (leaf, intermediates) = _files!.Load();
        if (!leaf.HasPrivateKey)
        {
            throw new InvalidOperationException("the certificate has no private key (set Smtp:Tls:KeyPath to the key file).");
        }
        return Prepare(leaf, intermediates, stamp, "replacing the files is enough");
    }

    private Loaded Prepare(X509Certificate2 leaf, X509Certificate2Collection intermediates, CertificateFilesStamp stamp, string renewal)
    {
        if (OperatingSystem.IsWindows())
        {
            // SChannel cannot use the ephemeral key of a PEM import; a PKCS#12 round trip gives it a usable one.
            leaf = X509CertificateLoader.LoadPkcs12(leaf.Export(X509ContentType.Pkcs12), password: null);
        }
        var notAfter = new DateTimeOffset(leaf.NotAfter.ToUniversalTime());
        if (notAfter - _time.GetUtcNow() < ExpiryWarning)
        {
            LogExpiring(_logger, leaf.Subject, leaf.NotAfter, renewal);
        }
        var context = SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
        return new Loaded(leaf, context, stamp);
    }

    private sealed record Loaded(X509Certificate2 Certificate, SslStreamCertificateContext Context, CertificateFilesStamp Stamp);

    [LoggerMessage(Level = LogLevel.Information, Message = "TLS certificate reloaded: {Subject} ({Thumbprint}), valid until {NotAfter:u}")]
    private static partial void LogReloaded(ILogger logger, string subject, string thumbprint, DateTime notAfter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "TLS certificate {Path} changed but could not be loaded; the previous certificate stays in use: {Reason}")]
    private static partial void LogReloadFailed(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "TLS certificate {Subject} expires {NotAfter:u}; renew it ({Renewal})")]
    private static partial void LogExpiring(ILogger logger, string subject, DateTime notAfter, string renewal);
}
