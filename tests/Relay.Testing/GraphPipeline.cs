using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Relay.Testing;

/// <summary>Who a Graph mail request acts for, once authenticated.</summary>
/// <param name="Mailbox">The mailbox as addressed: the decoded <c>{id}</c> of <c>/users/{id}</c>, or the user's UPN for <c>/me</c>.</param>
/// <param name="MailboxKey">The mailbox as Exchange knows it: the user's UPN when <paramref name="Mailbox"/> is a known object ID.</param>
/// <param name="ClientId">The app (or managed identity) the token was issued to: Outlook's limits count per app and mailbox.</param>
/// <param name="Principal">The signed-in user's UPN for a delegated token, otherwise the client ID.</param>
/// <param name="IsDelegated">Whether the token was delegated.</param>
/// <param name="BearerToken">The access token, or empty for a pre-authenticated upload URL.</param>
internal sealed record GraphCaller(string Mailbox, string MailboxKey, string ClientId, string Principal, bool IsDelegated, string BearerToken);

/// <summary>
/// What every Graph mail request goes through: authentication, Outlook's per-mailbox concurrency limit (429 beyond it),
/// the simulated latency, then the test's fault hook, then the endpoint's own handling; the response is written inside
/// the concurrency window, so in-flight counts include it.
/// </summary>
internal sealed class GraphPipeline(GraphAuthentication authentication, EntraDirectory directory)
{
    private static readonly GraphFault MeNeedsDelegation =
        new(StatusCodes.Status400BadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.");

    private readonly ConcurrentDictionary<(string Mailbox, GraphOperation Operation), int> _attempts = new(new AttemptKeyComparer());

    public MailboxConcurrency Concurrency { get; } = new();

    public TimeSpan Latency
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            field = value;
        }
    }

    public TimeSpan ThrottleRetryAfter
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            field = value;
        }
    } = TimeSpan.FromSeconds(1);

    public Func<GraphRequest, GraphFault?>? Fault { get; set; }

    /// <summary>The mailbox as Exchange knows it: a known user's object ID becomes the UPN.</summary>
    public string MailboxKey(string mailbox) => directory.FindUserByObjectId(mailbox)?.UserPrincipalName ?? mailbox;

    /// <summary>
    /// Authenticates a <c>/users/{id}/…</c> (<paramref name="mailbox"/> set) or <c>/me/…</c> (null) request. A delegated
    /// token may only reach its own user's mailbox; anything else gets <paramref name="otherMailbox"/>.
    /// </summary>
    public GraphCaller? Identify(HttpRequest request, string? mailbox, GraphFault otherMailbox, out GraphFault refusal)
    {
        refusal = MeNeedsDelegation;
        if (authentication.Authenticate(request) is not { } token)
        {
            refusal = authentication.Unauthenticated(request);
            return null;
        }

        if (mailbox is null && token.User is null)
        {
            return null;
        }

        if (token.User is { } user && mailbox is not null
            && !mailbox.Equals(user.UserPrincipalName, StringComparison.OrdinalIgnoreCase)
            && !mailbox.Equals(user.ObjectId, StringComparison.OrdinalIgnoreCase))
        {
            refusal = otherMailbox;
            return null;
        }

        var id = mailbox ?? token.User!.UserPrincipalName;
        return new GraphCaller(id, MailboxKey(id), token.ClientId, token.UserPrincipalName ?? token.ClientId, token.User is not null, token.Value);
    }

    /// <summary>Runs <paramref name="handle"/> for an identified caller inside the mailbox's concurrency window, and writes its result.</summary>
    public async Task RunAsync(HttpContext context, GraphCaller caller, GraphOperation operation, string? messageId, Func<Task<IResult>> handle)
    {
        using var slot = Concurrency.TryEnter(caller.ClientId, caller.MailboxKey);
        if (slot is null)
        {
            await new GraphErrorResult(GraphFault.Throttled(ThrottleRetryAfter)).ExecuteAsync(context);
            return;
        }

        var stopping = Stopping(context);
        try
        {
            if (Latency > TimeSpan.Zero)
            {
                await Task.Delay(Latency, stopping);
            }

            var attempt = _attempts.AddOrUpdate((caller.MailboxKey, operation), 1, (_, count) => count + 1);
            var request = new GraphRequest(operation, caller.Mailbox, messageId, attempt)
            {
                Principal = caller.Principal,
                IsDelegated = caller.IsDelegated,
                ReceivedAt = RequestJournal.ReceivedAt(context),
            };
            var result = await WithFaultAsync(Fault?.Invoke(request), handle, stopping);
            await result.ExecuteAsync(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested || stopping.IsCancellationRequested)
        {
            // The client went away (or the fake is stopping): there is no one left to answer.
        }
    }

    /// <summary>Cancelled when the fake stops: what ends a stalled or slow request that the client gave up on.</summary>
    public static CancellationToken Stopping(HttpContext context) =>
        context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;

    /// <summary>Applies a fault: none handles the request; otherwise waits its delay, then answers the error, drops the connection, or handles the request (and then may drop).</summary>
    public static async Task<IResult> WithFaultAsync(GraphFault? fault, Func<Task<IResult>> handle, CancellationToken stopping)
    {
        if (fault is null)
        {
            return await handle();
        }

        if (fault.Delay > TimeSpan.Zero)
        {
            await Task.Delay(fault.Delay, stopping);
        }

        if (!fault.Proceeds)
        {
            return fault.DropsConnection ? DroppedConnection.Instance : new GraphErrorResult(fault);
        }

        var result = await handle();
        return fault.DropsConnection ? DroppedConnection.Instance : result;
    }

    /// <summary>Drops the connection instead of answering.</summary>
    private sealed class DroppedConnection : IResult
    {
        public static readonly DroppedConnection Instance = new();

        public Task ExecuteAsync(HttpContext httpContext)
        {
            RequestJournal.MarkDropped(httpContext);
            httpContext.Abort();
            return Task.CompletedTask;
        }
    }

    private sealed class AttemptKeyComparer : IEqualityComparer<(string Mailbox, GraphOperation Operation)>
    {
        public bool Equals((string Mailbox, GraphOperation Operation) x, (string Mailbox, GraphOperation Operation) y) =>
            x.Operation == y.Operation && StringComparer.OrdinalIgnoreCase.Equals(x.Mailbox, y.Mailbox);

        public int GetHashCode((string Mailbox, GraphOperation Operation) obj) =>
            HashCode.Combine(StringComparer.OrdinalIgnoreCase.GetHashCode(obj.Mailbox), obj.Operation);
    }
}
