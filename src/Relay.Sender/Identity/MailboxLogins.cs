using Microsoft.Extensions.Options;
using Relay.Sender.Identity.Tokens;

namespace Relay.Sender.Identity;

/// <summary>
/// Mailbox-password logins (<c>Identity:MailboxLogins</c>), what azureSMTPwithOAuth users have: the username is a
/// user's UPN and the password that user's own; Relay's app exchanges them for a delegated token (ROPC) and the mail
/// goes out as that user, from that user's mailbox.
/// </summary>
public sealed class MailboxLogins(IOptionsMonitor<IdentityOptions> options, LoginTokenCache tokens, EntraCredentials entra)
{
    /// <summary>
    /// The user the login claims to be (its password not yet proven: <see cref="SmtpLogins"/> signs in with it), a
    /// refusal, or null when mailbox logins are off or the username is not a UPN.
    /// </summary>
    public LoginResult? Resolve(string username, string password, string? tenantId)
    {
        var settings = options.CurrentValue.MailboxLogins;
        if (!settings.Enabled || !SenderPattern.IsAddress(username))
        {
            return null;
        }
        var domain = username[(username.LastIndexOf('@') + 1)..];
        if (settings.Domains.Count > 0 && !settings.Domains.Contains(domain, StringComparer.OrdinalIgnoreCase))
        {
            return LoginResult.Refused($"mailbox logins are accepted only for {string.Join(", ", settings.Domains)}");
        }
        var key = CredentialKey.For("user", $"{tenantId}/{settings.ClientId}", username, password);
        var publicClientId = string.IsNullOrEmpty(settings.ClientId) ? null : settings.ClientId;
        var credential = new LoginCredential(tokens, key, LoginKind.Mailbox, () => entra.ForUserPassword(username, password, publicClientId), entra.GraphScope);
        return LoginResult.Succeeded(new RelayPrincipal(username, LoginKind.Mailbox, null, username) { Credential = credential });
    }
}
