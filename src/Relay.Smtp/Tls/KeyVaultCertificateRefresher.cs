using System.Security.Cryptography;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Options;
using Relay.ServiceDefaults.Certificates;

namespace Relay.Smtp.Tls;

/// <summary>
/// The TLS certificate from Key Vault (<c>Smtp:Tls:KeyVaultCertificateName</c>). At start-up, before the listeners open,
/// it reads the certificate's secret and a failure stops Relay.Smtp. Then every <c>Smtp:Tls:KeyVaultRefreshInterval</c> it
/// reads the secret again and, when Key Vault has a new version, hands it to <see cref="ServerCertificate"/>; the next
/// handshake presents it, without a restart. A refresh that fails (vault unreachable, access removed, a version that is
/// not a usable certificate) is logged as a warning and the certificate in use stays.
/// </summary>
/// <remarks>Secret values are never logged; only the name, the version and the vault are.</remarks>
public sealed partial class KeyVaultCertificateRefresher(
    IOptions<SmtpOptions> options,
    IServiceProvider services,
    TimeProvider time,
    ILogger<KeyVaultCertificateRefresher> logger) : BackgroundService
{
    private SecretClient? _client;
    private ServerCertificate? _certificate;
    private string _name = string.Empty;
    private string? _version;
    private string? _unusableVersion;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var tls = options.Value.Tls;
        if (!tls.HasKeyVaultCertificate)
        {
            return;
        }
        // Resolved here, not in the constructor: without a Key Vault certificate there is no vault to build a client for.
        _client = services.GetRequiredService<SecretClient>();
        _certificate = services.GetRequiredService<ServerCertificate>();
        _name = tls.KeyVaultCertificateName!;
        try
        {
            Use(await _client.GetSecretAsync(_name, cancellationToken: cancellationToken));
        }
        catch (Exception ex) when (KeyVaultFailure.IsVaultFailure(ex) || CertificateMaterial.IsUnusable(ex))
        {
            throw new InvalidOperationException(
                $"Smtp:Tls:KeyVaultCertificateName '{_name}' could not be loaded from Key Vault {_client.VaultUri}: {KeyVaultFailure.Describe(ex)}", ex);
        }
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Tls.KeyVaultRefreshInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await RefreshAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Not a vault or certificate failure (those are handled below) but a fault in Relay or the SDK. The
                // certificate in use is still good: the listeners keep presenting it and the next tick tries again.
                LogRefreshFault(logger, ex, _name);
            }
        }
    }

    private async Task RefreshAsync(CancellationToken stoppingToken)
    {
        KeyVaultSecret secret;
        try
        {
            secret = await _client!.GetSecretAsync(_name, cancellationToken: stoppingToken);
        }
        catch (Exception ex) when (KeyVaultFailure.IsVaultFailure(ex) || (ex is OperationCanceledException && !stoppingToken.IsCancellationRequested))
        {
            LogRefreshFailed(logger, _name, _client!.VaultUri, KeyVaultFailure.Describe(ex));
            return;
        }
        var version = secret.Properties.Version;
        if (version == _version || version == _unusableVersion)
        {
            return;
        }
        try
        {
            Use(secret);
        }
        catch (Exception ex) when (CertificateMaterial.IsUnusable(ex))
        {
            // Remembered so a bad version is reported once, not at every refresh until it is replaced.
            _unusableVersion = version;
            LogVersionUnusable(logger, _name, version, _client.VaultUri, KeyVaultFailure.Describe(ex));
        }
    }

    private void Use(KeyVaultSecret secret)
    {
        var (leaf, intermediates) = KeyVaultCertificateSecret.Load(secret.Value, secret.Properties.ContentType);
        var inUse = _certificate!.Replace(leaf, intermediates);
        _version = secret.Properties.Version;
        LogInUse(logger, _name, _version, inUse.Subject, inUse.Thumbprint, inUse.NotAfter);
    }

    /// <summary>The secret is there but is not a certificate Relay can present.</summary>
    [LoggerMessage(Level = LogLevel.Information,
        Message = "TLS certificate from Key Vault secret {Name} version {Version} in use: {Subject} ({Thumbprint}), valid until {NotAfter:u}")]
    private static partial void LogInUse(ILogger logger, string name, string version, string subject, string thumbprint, DateTime notAfter);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "TLS certificate {Name} could not be read from Key Vault {Vault}; the certificate in use stays: {Reason}")]
    private static partial void LogRefreshFailed(ILogger logger, string name, Uri vault, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Refreshing TLS certificate {Name} from Key Vault failed unexpectedly; the certificate in use stays")]
    private static partial void LogRefreshFault(ILogger logger, Exception exception, string name);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "TLS certificate {Name} version {Version} in Key Vault {Vault} cannot be used; the certificate in use stays: {Reason}")]
    private static partial void LogVersionUnusable(ILogger logger, string name, string version, Uri vault, string reason);
}
