using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Relay.Testing;

/// <summary>An access token the fake issued; <paramref name="Audience"/> is the resource of the requested <c>{resource}/.default</c> scope.</summary>
internal sealed record IssuedToken(string Value, string TenantId, string ClientId, DateTimeOffset ExpiresOn, string? Audience = null);

/// <summary>The fake Entra ID state: registered apps and the access tokens issued to them.</summary>
internal sealed class EntraDirectory
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, string>> _secretsByClientByTenant = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, IssuedToken> _tokens = new(StringComparer.Ordinal);
    private int _tokenRequestCount;

    public TimeSpan TokenLifetime
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            field = value;
        }
    } = TimeSpan.FromHours(1);

    public int TokenRequestCount => Volatile.Read(ref _tokenRequestCount);

    public void CountTokenRequest() => Interlocked.Increment(ref _tokenRequestCount);

    public void Register(string tenantId, string clientId, string clientSecret) =>
        _secretsByClientByTenant.GetOrAdd(tenantId, _ => new ConcurrentDictionary<string, string>(StringComparer.OrdinalIgnoreCase))[clientId] = clientSecret;

    public bool HasTenant(string tenantId) => _secretsByClientByTenant.ContainsKey(tenantId);

    public string? FindSecret(string tenantId, string clientId) =>
        _secretsByClientByTenant.TryGetValue(tenantId, out var secrets) && secrets.TryGetValue(clientId, out var secret) ? secret : null;

    public IssuedToken Issue(string tenantId, string clientId, TimeSpan lifetime, string? audience = null)
    {
        var token = new IssuedToken(
            Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32)),
            tenantId,
            clientId,
            DateTimeOffset.UtcNow + lifetime,
            audience);
        _tokens[token.Value] = token;
        return token;
    }

    public IssuedToken? Find(string accessToken) => _tokens.GetValueOrDefault(accessToken);

    public void RevokeTokens() => _tokens.Clear();
}
