using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Every <c>KeyVault:RefreshInterval</c>, reads the vault of each <see cref="KeyVaultConfigurationProvider"/> in the
/// configuration again; changed values raise the configuration's reload token. A refresh that fails is logged as a
/// warning and the values in use stay. The timer stops with the host. Logs name keys, never values.
/// </summary>
public sealed partial class KeyVaultConfigurationRefresher(
    IConfiguration configuration,
    IOptions<KeyVaultConfigurationOptions> options,
    TimeProvider time,
    ILogger<KeyVaultConfigurationRefresher> logger) : BackgroundService
{
    private KeyVaultConfigurationProvider[] _providers = [];

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _providers = (configuration as IConfigurationRoot)?.Providers.OfType<KeyVaultConfigurationProvider>().ToArray() ?? [];
        foreach (var provider in _providers)
        {
            LogLoaded(logger, provider.VaultUri, provider.Keys.Count, string.Join(", ", provider.Keys.Order(StringComparer.OrdinalIgnoreCase)), options.Value.RefreshInterval);
        }
        return _providers.Length == 0 ? Task.CompletedTask : base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RefreshInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            foreach (var provider in _providers)
            {
                await RefreshAsync(provider, stoppingToken);
            }
        }
    }

    private async Task RefreshAsync(KeyVaultConfigurationProvider provider, CancellationToken stoppingToken)
    {
        try
        {
            var changed = await provider.RefreshAsync(stoppingToken);
            if (changed.Count > 0)
            {
                LogChanged(logger, provider.VaultUri, string.Join(", ", changed));
            }
        }
        catch (Exception ex) when (KeyVaultFailure.IsVaultFailure(ex) || (ex is OperationCanceledException && !stoppingToken.IsCancellationRequested))
        {
            LogRefreshFailed(logger, provider.VaultUri, KeyVaultFailure.Describe(ex));
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            // Not a vault failure but a fault in Relay, the SDK or a reload-token consumer. The values in use are still
            // the last good ones, and the next tick tries again; the exception is logged, its message holds no value.
            LogRefreshFault(logger, ex, provider.VaultUri);
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Configuration from Key Vault {Vault}: {Count} settings ({Keys}), read again every {RefreshInterval}")]
    private static partial void LogLoaded(ILogger logger, Uri vault, int count, string keys, TimeSpan refreshInterval);

    [LoggerMessage(Level = LogLevel.Information, Message = "Configuration from Key Vault {Vault} changed: {Keys}")]
    private static partial void LogChanged(ILogger logger, Uri vault, string keys);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Configuration could not be read again from Key Vault {Vault}; the values in use stay: {Reason}")]
    private static partial void LogRefreshFailed(ILogger logger, Uri vault, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Refreshing configuration from Key Vault {Vault} failed unexpectedly; the values in use stay")]
    private static partial void LogRefreshFault(ILogger logger, Exception exception, Uri vault);
}
