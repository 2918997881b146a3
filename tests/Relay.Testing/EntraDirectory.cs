using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Relay.Testing;

/// <summary>An access token the fake issued.</summary>
/// <param name="Value">The opaque token.</param>
/// <param name="TenantId">The tenant it was issued in.</param>
/// <param name="ClientId">The client (app or managed identity) it was issued to.</param>
/// <param name="ExpiresOn">When it expires.</param>
/// <param name="Audience">The resource it is for: the <c>{resource}</c> of the requested <c>{resource}/.default</c> scope.</param>
/// <param name="User">The signed-in user for a delegated token (password or refresh-token grant); null for an app-only token.</param>
internal sealed record IssuedToken(string Value, string TenantId, string ClientId, DateTimeOffset ExpiresOn, string? Audience = null, EntraUser? User = null)
{
    /// <summary>The UPN of the signed-in user for a delegated token; null for an app-only token.</summary>
    public string? UserPrincipalName => User?.UserPrincipalName;
}

/// <summary>
/// The fake Entra ID state: tenants with their app registrations and users, managed identities, the access and refresh
/// tokens issued, and how many token requests were made, in all and per principal.
/// </summary>
internal sealed class EntraDirectory
{
    private readonly ConcurrentDictionary<string, Tenant> _tenants = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, IssuedToken> _tokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RefreshGrant> _refreshGrants = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ManagedIdentityRegistration> _managedIdentities = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, int> _tokenRequestsByPrincipal = new(StringComparer.OrdinalIgnoreCase);
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

    /// <summary>The secret a caller of the managed-identity endpoint must send as <c>X-IDENTITY-HEADER</c>.</summary>
    public string ManagedIdentityHeader { get; } = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(24));

    public int TokenRequestCount => Volatile.Read(ref _tokenRequestCount);

    /// <summary>Whether the token endpoint answers every request with an outage (see <see cref="FakeMicrosoftCloud.TokenEndpointUnavailable"/>).</summary>
    public bool TokenEndpointUnavailable { get; set; }

    public void CountTokenRequest() => Interlocked.Increment(ref _tokenRequestCount);

    /// <summary>Counts one more token request attributed to <paramref name="principal"/> (a client ID or a UPN).</summary>
    public void CountTokenRequest(string principal) => _tokenRequestsByPrincipal.AddOrUpdate(principal, 1, (_, count) => count + 1);

    public int TokenRequestCountFor(string principal) => _tokenRequestsByPrincipal.GetValueOrDefault(principal);

    public void Register(string tenantId, string clientId, string clientSecret) =>
        UpdateApplication(tenantId, clientId, app => app with { Secret = clientSecret });

    public void RegisterCertificate(string tenantId, string clientId, X509Certificate2 certificate)
    {
        // Only the public part is kept, in a copy the caller's disposal cannot reach.
        var publicPart = X509CertificateLoader.LoadCertificate(certificate.RawData);
        UpdateApplication(tenantId, clientId, app => app with { Certificates = app.Certificates.Add(publicPart) });
    }

    public void RegisterPublicClient(string tenantId, string clientId) =>
        UpdateApplication(tenantId, clientId, app => app with { IsPublicClient = true });

    public bool HasTenant(string tenantId) => _tenants.ContainsKey(tenantId);

    public EntraApplication? FindApplication(string tenantId, string clientId) =>
        _tenants.TryGetValue(tenantId, out var tenant) ? tenant.Applications.GetValueOrDefault(clientId) : null;

    public string? FindSecret(string tenantId, string clientId) => FindApplication(tenantId, clientId)?.Secret;

    /// <summary>Adds or replaces a user; a replaced user keeps its object ID.</summary>
    public EntraUser RegisterUser(string tenantId, string userPrincipalName, string password, UserSignInBlock block)
    {
        var users = GetOrAddTenant(tenantId).Users;
        return users.AddOrUpdate(
            userPrincipalName,
            upn => new EntraUser(tenantId, upn, password, block, Guid.NewGuid().ToString()),
            (_, existing) => existing with { Password = password, Block = block });
    }

    public EntraUser? FindUser(string tenantId, string userPrincipalName) =>
        _tenants.TryGetValue(tenantId, out var tenant) ? tenant.Users.GetValueOrDefault(userPrincipalName) : null;

    /// <summary>The user with this object ID in any tenant (compared case-insensitively), or null.</summary>
    public EntraUser? FindUserByObjectId(string objectId) =>
        _tenants.Values
            .SelectMany(tenant => tenant.Users.Values)
            .FirstOrDefault(user => user.ObjectId.Equals(objectId, StringComparison.OrdinalIgnoreCase));

    /// <summary>The domain as registered when some tenant has a user under it (userrealm's "Managed"), otherwise null.</summary>
    public string? FindDomain(string domain) =>
        _tenants.Values
            .SelectMany(tenant => tenant.Users.Keys)
            .Select(upn => upn[(upn.LastIndexOf('@') + 1)..])
            .FirstOrDefault(registered => registered.Equals(domain, StringComparison.OrdinalIgnoreCase));

    public ManagedIdentityRegistration RegisterManagedIdentity(string tenantId, string clientId, bool systemAssigned)
    {
        GetOrAddTenant(tenantId);
        var resourceId = systemAssigned
            ? null
            : $"/subscriptions/5f1c9a0e-2d4b-4c3a-9e8f-7a6b5c4d3e2f/resourceGroups/relay-tests/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-{clientId}";
        var identity = new ManagedIdentityRegistration(tenantId, clientId, Guid.NewGuid().ToString(), resourceId, systemAssigned);
        if (systemAssigned)
        {
            // A host has one system-assigned identity: registering another replaces it.
            foreach (var previous in _managedIdentities.Values.Where(registered => registered.SystemAssigned))
            {
                _managedIdentities.TryRemove(previous.ClientId, out _);
            }
        }
        _managedIdentities[clientId] = identity;
        return identity;
    }

    public IEnumerable<ManagedIdentityRegistration> ManagedIdentities => _managedIdentities.Values;

    public IssuedToken Issue(string tenantId, string clientId, TimeSpan lifetime, string? audience = null, EntraUser? user = null)
    {
        var token = new IssuedToken(NewTokenValue(), tenantId, clientId, DateTimeOffset.UtcNow + lifetime, audience, user);
        _tokens[token.Value] = token;
        return token;
    }

    public IssuedToken? Find(string accessToken) => _tokens.GetValueOrDefault(accessToken);

    public string IssueRefreshToken(EntraUser user, string clientId)
    {
        var value = NewTokenValue();
        _refreshGrants[value] = new RefreshGrant(user.TenantId, clientId, user.UserPrincipalName, user.Password);
        return value;
    }

    /// <summary>Entra's refresh tokens stay valid when redeemed (the response carries a new one as well), so this only looks.</summary>
    public RefreshGrant? FindRefreshGrant(string refreshToken) => _refreshGrants.GetValueOrDefault(refreshToken);

    public void RevokeTokens() => _tokens.Clear();

    private void UpdateApplication(string tenantId, string clientId, Func<EntraApplication, EntraApplication> update) =>
        GetOrAddTenant(tenantId).Applications.AddOrUpdate(clientId, id => update(EntraApplication.Empty(id)), (_, existing) => update(existing));

    private Tenant GetOrAddTenant(string tenantId) => _tenants.GetOrAdd(tenantId, _ => new Tenant());

    private static string NewTokenValue() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    private sealed class Tenant
    {
        public ConcurrentDictionary<string, EntraApplication> Applications { get; } = new(StringComparer.OrdinalIgnoreCase);

        public ConcurrentDictionary<string, EntraUser> Users { get; } = new(StringComparer.OrdinalIgnoreCase);
    }
}
