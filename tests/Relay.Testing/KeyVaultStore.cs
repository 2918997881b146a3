using System.Collections.Concurrent;

namespace Relay.Testing;

/// <summary>One version of a secret in the fake vault, with the attributes Key Vault keeps per version.</summary>
internal sealed record SecretVersion(string Name, string Version, string Value, string? ContentType, bool Managed, DateTimeOffset Created)
{
    public bool Enabled { get; init; } = true;
    public DateTimeOffset? ExpiresOn { get; init; }
    public DateTimeOffset Updated { get; init; } = Created;
}

/// <summary>The fake Key Vault's state: every version of every secret, and the requests the vault received.</summary>
internal sealed class KeyVaultStore
{
    /// <summary>
    /// The resource in the vault's challenge. The real one is <c>https://vault.azure.net</c> for vaults named
    /// <c>NAME.vault.azure.net</c>; Azure.Security.KeyVault checks that the vault's host ends with "." and the challenge
    /// resource's host, so the fake vault is <c>relay.vault.localhost</c> and its resource <c>https://vault.localhost</c>.
    /// </summary>
    public const string Resource = "https://" + ResourceHost;

    /// <summary>The host of <see cref="Resource"/>; the vault is a name under it.</summary>
    public const string ResourceHost = "vault.localhost";

    /// <summary>The vault's host name: <c>*.localhost</c> is loopback (RFC 6761 §6.3).</summary>
    public const string Host = "relay." + ResourceHost;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, List<SecretVersion>> _versionsByName = new(StringComparer.OrdinalIgnoreCase);
    private int _requestCount;

    /// <summary>The tenant the vault belongs to: its challenge sends clients to this tenant for a token.</summary>
    public string TenantId { get; set; } = "33333333-3333-3333-3333-333333333333";

    public Func<string, KeyVaultFault?>? Fault { get; set; }

    public int RequestCount => Volatile.Read(ref _requestCount);

    public void CountRequest() => Interlocked.Increment(ref _requestCount);

    public string Add(string name, string value, string? contentType, bool managed, DateTimeOffset? expiresOn = null)
    {
        var version = Guid.NewGuid().ToString("N");
        lock (_gate)
        {
            if (!_versionsByName.TryGetValue(name, out var versions))
            {
                _versionsByName[name] = versions = [];
            }
            versions.Add(new SecretVersion(name, version, value, contentType, managed, DateTimeOffset.UtcNow) { ExpiresOn = expiresOn });
        }
        return version;
    }

    /// <summary>The named version, or the latest when <paramref name="version"/> is null or empty.</summary>
    public SecretVersion? Find(string name, string? version)
    {
        lock (_gate)
        {
            if (!_versionsByName.TryGetValue(name, out var versions) || versions.Count == 0)
            {
                return null;
            }
            return string.IsNullOrEmpty(version)
                ? versions[^1]
                : versions.FirstOrDefault(v => v.Version.Equals(version, StringComparison.OrdinalIgnoreCase));
        }
    }

    /// <summary>Enables or disables the latest version of a secret, as <c>PATCH /secrets/{name}</c> does.</summary>
    public void SetEnabled(string name, bool enabled)
    {
        lock (_gate)
        {
            if (!_versionsByName.TryGetValue(name, out var versions) || versions.Count == 0)
            {
                throw new ArgumentException($"The fake vault has no secret {name}.", nameof(name));
            }
            versions[^1] = versions[^1] with { Enabled = enabled, Updated = DateTimeOffset.UtcNow };
        }
    }

    /// <summary>The latest version of every secret, ordered by name (the order the list pages follow).</summary>
    public IReadOnlyList<SecretVersion> Latest()
    {
        lock (_gate)
        {
            return _versionsByName.Values.Where(v => v.Count > 0).Select(v => v[^1])
                .OrderBy(v => v.Name, StringComparer.OrdinalIgnoreCase).ToList();
        }
    }
}
