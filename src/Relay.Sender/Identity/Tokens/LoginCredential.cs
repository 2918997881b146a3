using System.Diagnostics;
using Azure.Core;
using Relay.Sender.Submission;

namespace Relay.Sender.Identity.Tokens;

/// <summary>
/// The Microsoft identity of one SMTP login, as Graph's authentication provider sees it: tokens come from the
/// <see cref="LoginTokenCache"/> under the login's <see cref="CredentialKey"/>, and only a cache miss or a renewal
/// asks Entra (through a credential made by <paramref name="signIn"/> for that request alone, so no token outlives the cache
/// entry in an Azure.Identity cache of its own). Whatever scope is asked for, the token is for <paramref name="scope"/>.
/// </summary>
public sealed class LoginCredential(LoginTokenCache cache, CredentialKey key, LoginKind kind, Func<TokenCredential> signIn, string scope) : TokenCredential
{
    public CredentialKey Key => key;

    public override async ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        // A span per token lookup (a child of the Graph attempt that needs it); a cache miss adds a token.acquire event.
        using var activity = SenderTelemetry.Source.StartActivity("relay.token");
        activity?.SetTag("relay.token.credential", "login");
        activity?.SetTag("relay.login.kind", kind.ToString());
        try
        {
            return await cache.GetTokenAsync(key, AcquireAsync, cancellationToken);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            throw;
        }
    }

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        GetTokenAsync(requestContext, cancellationToken).AsTask().GetAwaiter().GetResult();

    /// <summary>Graph rejected the token at <paramref name="rejectedAt"/>: the next request signs in again (<see cref="LoginTokenCache.Invalidate"/>).</summary>
    public void Invalidate(DateTimeOffset rejectedAt) => cache.Invalidate(key, rejectedAt);

    private async ValueTask<AccessToken> AcquireAsync(CancellationToken cancellationToken)
    {
        var outcome = "failed";
        try
        {
            var token = await signIn().GetTokenAsync(new TokenRequestContext([scope]), cancellationToken);
            outcome = "issued";
            Activity.Current?.AddEvent(new ActivityEvent("token.acquire"));
            return token;
        }
        finally
        {
            SenderTelemetry.TokenRequests.Add(1, new KeyValuePair<string, object?>("kind", kind.ToString()),
                new KeyValuePair<string, object?>("outcome", outcome));
        }
    }
}
