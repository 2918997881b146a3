using Azure.Core;
using Microsoft.Extensions.Options;
using Relay.Sender.Delivery.Graph;
using Relay.Sender.Identity.AppLogins;

namespace Relay.Sender.Identity;

/// <summary>
/// Verifies SMTP logins, every time, trying the kinds in a fixed order:
/// <list type="number">
/// <item>a Relay account (<c>Identity:Accounts</c>) when the name is one — its password decides, nothing else is tried;</item>
/// <item>an app-credential login when the name is shaped <c>TENANT@CLIENT</c> or <c>KEY@lookup</c> and app logins are on;</item>
/// <item>a mailbox login when the name is an address and mailbox logins are on;</item>
/// <item>otherwise it fails, after as long as a Relay account check takes.</item>
/// </list>
/// An empty password fails before anything is tried: it is never a fallback to another identity. Logins of kinds 2
/// and 3 are proven by getting a token with them; the token cache is keyed by the credential itself, so a cached token
/// answers only for the exact secret or password that obtained it.
/// </summary>
public sealed partial class SmtpLogins(
    RelayAccounts accounts,
    AppCredentialLogins appLogins,
    MailboxLogins mailboxLogins,
    IOptionsMonitor<GraphOptions> graph,
    ILogger<SmtpLogins> logger)
{
    public async ValueTask<LoginResult> VerifyAsync(string username, string password, CancellationToken cancellationToken)
    {
        if (password.Length == 0 || username.Length == 0)
        {
            return LoginResult.InvalidCredentials;
        }
        if (accounts.Contains(username))
        {
            return accounts.Verify(username, password) is { } account ? LoginResult.Succeeded(account) : LoginResult.InvalidCredentials;
        }

        var claimed = await appLogins.ResolveAsync(username, password, cancellationToken)
                      ?? mailboxLogins.Resolve(username, password, graph.CurrentValue.TenantId);
        if (claimed is null)
        {
            accounts.SpendDecoy(password);
            return LoginResult.InvalidCredentials;
        }
        if (claimed.Principal is not { Credential: { } credential } principal)
        {
            return claimed;
        }

        try
        {
            await credential.GetTokenAsync(new TokenRequestContext([]), cancellationToken);
            return claimed;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Every failure to sign in gets a deliberate answer: classified by AADSTS code, and logged without the
            // password or secret (MSAL's messages hold neither).
            var failure = EntraLoginErrors.Classify(ex);
            LogSignInFailed(logger, principal.Kind, principal.Name, failure.Reason,
                failure.AadstsCode is { } code ? $"AADSTS{code}" : "no AADSTS code", ex.GetType().Name);
            return LoginResult.Failed(failure);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Kind} login {Login} could not sign in to Entra ID: {Reason} ({AadstsCode}, {Error})")]
    private static partial void LogSignInFailed(ILogger logger, LoginKind kind, string login, string reason, string aadstsCode, string error);
}
