using Microsoft.Extensions.Options;
using Relay.Sender.Identity.Tokens;

namespace Relay.Sender.Identity.AppLogins;

/// <summary>
/// App-credential logins (<c>Identity:AppLogins</c>): the username names an app registration, directly
/// (<c>TENANT@CLIENT</c>) or through the lookup (<c>KEY@lookup</c>), and the password is that app's client secret. The
/// login is verified by a client-credentials grant for that app; mail is sent as that app, which Microsoft 365 lets
/// send only as the mailboxes its Mail.Send permission (and any RBAC for Applications scope) covers.
/// </summary>
public sealed partial class AppCredentialLogins(
    IOptionsMonitor<IdentityOptions> options,
    IAppLoginLookup lookup,
    LoginTokenCache tokens,
    EntraCredentials entra,
    ILogger<AppCredentialLogins> logger)
{
    /// <summary>
    /// The app the login claims to be (its credential not yet proven: <see cref="SmtpLogins"/> signs in with it), a
    /// refusal, or null when app logins are off or the username is not shaped like one.
    /// </summary>
    public async ValueTask<LoginResult?> ResolveAsync(string username, string secret, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue.AppLogins;
        if (!settings.Enabled || !AppLoginName.TryParse(username, out var name))
        {
            return null;
        }
        if (!name.IsLookup)
        {
            return settings.RequireLookup
                ? LoginResult.Refused("only KEY@lookup logins are accepted here (Identity:AppLogins:RequireLookup)")
                : Plan(username, name.TenantId.ToString("D"), name.ClientId.ToString("D"), null, secret);
        }

        AppLoginEntry? entry;
        try
        {
            entry = await lookup.FindAsync(name.LookupKey!, cancellationToken);
        }
        catch (AppLoginLookupUnavailableException ex)
        {
            LogLookupUnavailable(logger, name.LookupKey!, ex.Message);
            return LoginResult.Failed(EntraLoginErrors.LookupUnavailable);
        }
        return entry is null
            ? LoginResult.InvalidCredentials
            : Plan(username, entry.TenantId, entry.ClientId, entry.From, secret);
    }

    private LoginResult Plan(string username, string tenantId, string clientId, string? from, string secret)
    {
        var key = CredentialKey.For("app", tenantId, clientId, secret);
        var credential = new LoginCredential(tokens, key, LoginKind.AppCredential,
            () => entra.ForClientSecret(tenantId, clientId, secret), entra.GraphScope);
        return LoginResult.Succeeded(new RelayPrincipal(username, LoginKind.AppCredential, null, from) { Credential = credential });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "App login lookup for key {LookupKey} unavailable: {Reason}")]
    private static partial void LogLookupUnavailable(ILogger logger, string lookupKey, string reason);
}
