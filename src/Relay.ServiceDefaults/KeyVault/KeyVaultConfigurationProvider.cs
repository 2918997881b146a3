using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Configuration;
using Relay.ServiceDefaults.Certificates;

namespace Microsoft.Extensions.Hosting;

/// <summary>Adds <see cref="KeyVaultConfigurationProvider"/> to a configuration; the client is built by <see cref="KeyVaultConfigurationExtensions"/>.</summary>
public sealed class KeyVaultConfigurationSource(SecretClient client, TimeProvider time) : IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => new KeyVaultConfigurationProvider(client, time);
}

/// <summary>
/// Every enabled, current secret of the vault as a configuration value, named by the Key Vault convention: secret
/// <c>Graph--ClientSecret</c> is key <c>Graph:ClientSecret</c> (names cannot contain ':'). Secrets that are certificates
/// (managed by a Key Vault certificate, or stored as PKCS#12 or PEM) are TLS material, not settings, and are left out.
/// </summary>
/// <remarks>
/// <see cref="Load"/> reads the vault synchronously while the configuration is built and throws, naming
/// <c>ConnectionStrings:secrets</c>, when it cannot. <see cref="RefreshAsync"/> is driven by
/// <see cref="KeyVaultConfigurationRefresher"/>. Neither ever puts a secret value in an exception or a log.
/// </remarks>
public sealed class KeyVaultConfigurationProvider(SecretClient client, TimeProvider time) : ConfigurationProvider
{
    public Uri VaultUri => client.VaultUri;

    /// <summary>The configuration keys the vault supplies (names, never values).</summary>
    public IReadOnlyCollection<string> Keys => Data.Keys.ToArray();

    public override void Load()
    {
        try
        {
            // Configuration providers load synchronously; this runs once, while the host is being built.
            Data = ReadAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (KeyVaultFailure.IsVaultFailure(ex))
        {
            throw new InvalidOperationException(
                $"{KeyVaultOptions.ConfigurationKey}: the secrets of Key Vault {client.VaultUri} could not be read into configuration: {KeyVaultFailure.Describe(ex)}", ex);
        }
    }

    /// <summary>
    /// Reads the vault again; when any value was added, changed or removed, replaces them all and raises the reload token
    /// (so <c>IOptionsMonitor</c> consumers see the new values). Returns the keys that changed. A vault failure is thrown
    /// (see <see cref="KeyVaultFailure.IsVaultFailure"/>) and the values in use stay.
    /// </summary>
    public async Task<IReadOnlyList<string>> RefreshAsync(CancellationToken cancellationToken)
    {
        var fresh = await ReadAsync(cancellationToken);
        var current = Data;
        var changed = fresh.Keys.Union(current.Keys, StringComparer.OrdinalIgnoreCase)
            .Where(key => !current.TryGetValue(key, out var old) || !fresh.TryGetValue(key, out var value) || !string.Equals(old, value, StringComparison.Ordinal))
            .Order(StringComparer.OrdinalIgnoreCase)
            .ToList();
        if (changed.Count > 0)
        {
            Data = fresh;
            OnReload();
        }
        return changed;
    }

    /// <summary>The configuration key of a secret: <c>--</c> stands for the section separator.</summary>
    public static string KeyFor(string secretName) => secretName.Replace("--", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal);

    /// <summary>Whether a secret is a setting: enabled, within its activation and expiry dates, and not a certificate.</summary>
    public static bool IsSetting(SecretProperties secret, DateTimeOffset now) =>
        secret.Enabled == true
        && (secret.NotBefore is null || secret.NotBefore <= now)
        && (secret.ExpiresOn is null || secret.ExpiresOn > now)
        && !secret.Managed
        && !KeyVaultCertificateSecret.IsCertificateContentType(secret.ContentType);

    /// <summary>
    /// Lists the secrets (the SDK follows <c>nextLink</c> page by page) and gets the current value of each setting. Every
    /// value is read each time rather than only those whose <c>updated</c> time moved: a vault holds a handful of
    /// settings, so a refresh is a few requests, far below Key Vault's limit of 4,000 GETs per 10 seconds per vault.
    /// </summary>
    private async Task<Dictionary<string, string?>> ReadAsync(CancellationToken cancellationToken)
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var now = time.GetUtcNow();
        await foreach (var properties in client.GetPropertiesOfSecretsAsync(cancellationToken))
        {
            if (!IsSetting(properties, now))
            {
                continue;
            }
            KeyVaultSecret secret = await client.GetSecretAsync(properties.Name, cancellationToken: cancellationToken);
            data[KeyFor(properties.Name)] = secret.Value;
        }
        return data;
    }
}
