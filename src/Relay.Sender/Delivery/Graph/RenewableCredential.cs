using System.Diagnostics;
using System.Globalization;
using Azure.Core;
using Relay.Sender.Submission;

namespace Relay.Sender.Delivery.Graph;

/// <summary>
/// Relay's own app credential, whose cached token can be renewed when Graph rejects it (401). Azure.Identity offers no
/// way to empty a credential's cache, and a new credential does not always help (MSAL shares one cache among all
/// managed-identity credentials), but a token request with claims always bypasses the cache. So a renewal asks once
/// with the claims challenge Graph itself sends under continuous access evaluation, "a token not issued before the
/// rejection" (<c>{"access_token":{"nbf":{"essential":true,"value":"…"}}}</c>); the new token replaces the old one in the
/// cache, and every later request gets it. Requests made while that renewal is under way wait for it rather than take
/// the rejected token from the cache.
/// </summary>
public sealed class RenewableCredential(TokenCredential inner, TimeProvider time) : TokenCredential
{
    private readonly Lock _gate = new();
    private DateTimeOffset _lastRenewal = DateTimeOffset.MinValue;
    private DateTimeOffset? _due;
    private Task<AccessToken>? _renewing;

    public override async ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        // A span per token lookup, a child of the Graph attempt; Azure.Identity's own cache decides whether Entra is asked
        // (its HTTP request, if any, is a child span).
        using var activity = SenderTelemetry.Source.StartActivity("relay.token");
        activity?.SetTag("relay.token.credential", "app");
        try
        {
            return await GetTokenCoreAsync(requestContext, activity, cancellationToken);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            throw;
        }
    }

    private async ValueTask<AccessToken> GetTokenCoreAsync(TokenRequestContext requestContext, Activity? activity, CancellationToken cancellationToken)
    {
        Task<AccessToken>? renewing;
        lock (_gate)
        {
            if (_due is { } rejectedAt)
            {
                _due = null;
                var renewal = RenewAsync(requestContext, rejectedAt);
                _renewing = renewal;
                // Done (token or failure), it steps aside: later requests go to the cache, which now has the new token.
                _ = renewal.ContinueWith(done =>
                {
                    lock (_gate)
                    {
                        if (_renewing == done)
                        {
                            _renewing = null;
                        }
                    }
                }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
            renewing = _renewing;
        }
        activity?.SetTag("relay.token.renewal", renewing is not null);
        return renewing is null
            ? await inner.GetTokenAsync(requestContext, cancellationToken)
            : await renewing.WaitAsync(cancellationToken);
    }

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        GetTokenAsync(requestContext, cancellationToken).AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Graph rejected the token at <paramref name="rejectedAt"/>: the next request asks Entra for a new one, unless a
    /// renewal was asked for after that instant (another message's 401 came first, and its renewal serves this one too).
    /// </summary>
    public void Renew(DateTimeOffset rejectedAt)
    {
        lock (_gate)
        {
            if (rejectedAt < _lastRenewal)
            {
                return;
            }
            _lastRenewal = time.GetUtcNow();
            _due = rejectedAt;
        }
    }

    private async Task<AccessToken> RenewAsync(TokenRequestContext requestContext, DateTimeOffset rejectedAt)
    {
        await Task.Yield(); // Never call Entra under the lock.
        // A real claims challenge already bypasses the cache; otherwise ask for a token issued after the rejection.
        var notBefore = rejectedAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var claims = requestContext.Claims ?? "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"" + notBefore + "\"}}}";
        // Not the first caller's token: others wait for this renewal too, and it must not end because one gave up.
        return await inner.GetTokenAsync(
            new TokenRequestContext(requestContext.Scopes, requestContext.ParentRequestId, claims, requestContext.TenantId, requestContext.IsCaeEnabled),
            CancellationToken.None);
    }
}
