using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Azure.Identity;
using Microsoft.Extensions.Options;
using Microsoft.Graph.Models.ODataErrors;
using MsalException = Microsoft.Identity.Client.MsalException;
using Microsoft.Kiota.Abstractions;
using Relay.Contracts;
using Relay.Sender.Submission;

namespace Relay.Sender.Delivery.Graph;

/// <summary>
/// Every Graph request Relay makes goes through <see cref="RunAsync"/>, which
/// <list type="number">
/// <item>takes one of the mailbox's slots (<see cref="MailboxConcurrencyLimiter"/>) for that request only;</item>
/// <item>gives the request <c>Graph:RequestTimeout</c>, never more than what is left of the message's budget;</item>
/// <item>retries what Graph says it did not do: 429, 503, and 500s whose code says transient (graph-facts §3, §4), after
/// <c>Retry-After</c> (seconds or an HTTP date) or, without one, exponential backoff with full jitter;</item>
/// <item>retries network errors that provably happened before the request left: name resolution, connection refused,
/// TLS handshake;</item>
/// <item>on 401 renews the token once and tries again;</item>
/// <item>never sleeps past the budget (<c>Graph:RetryBudget</c>): when the pause asked for does not fit in what is left,
/// it gives up at once.</item>
/// </list>
/// What it never retries, because sendMail is not idempotent and a second request could deliver the message twice: a
/// request whose answer Relay did not see (a timeout after it was sent, a connection lost mid-response), and an answer
/// that does not say the request was not carried out (504 and 502 from a gateway that gave up waiting, other 500s). The
/// caller answers 4xx and logs that the message may have been sent, so a duplicate, if the client sends again, is on record
/// rather than silent. Sending the same request again is Relay's choice only when Graph provably did nothing.
/// <para>
/// A failure is thrown as <see cref="GraphCallException"/>, with the SMTP reply <see cref="GraphErrorMapper"/> gives it.
/// One message's requests share a <see cref="GraphCallContext"/>, so several requests for one message (draft, uploads,
/// send) share one budget, one count of attempts and one token renewal.
/// </para>
/// </summary>
public sealed partial class GraphCallPolicy(
    MailboxConcurrencyLimiter limiter, IOptions<GraphOptions> options, TimeProvider time, ILogger<GraphCallPolicy> logger)
{
    /// <summary>The ceiling of backoff pauses (Kiota's own RetryHandler caps a pause at 180 s; a relay must answer sooner).</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>Exchange's codes for "not done, try again" (graph-facts §4: ErrorServerBusy is a 503, the others 500s).</summary>
    private static readonly HashSet<string> TransientCodes = new(StringComparer.OrdinalIgnoreCase)
    {
        "ErrorServerBusy", "ErrorInternalServerTransientError", "ErrorMailboxStoreUnavailable", "ErrorMailboxMoveInProgress",
    };

    /// <summary>
    /// Starts one message's dealings with Graph: its budget begins now.
    /// </summary>
    /// <param name="mailbox">The mailbox whose concurrency the requests count against.</param>
    /// <param name="renewToken">
    /// Drops the cached token if it was obtained at or before the given instant (when Graph answered 401), so the next request
    /// signs in afresh; false when the credential cannot be renewed.
    /// </param>
    /// <param name="budget">
    /// A budget shorter than <c>Graph:RetryBudget</c>, for clean-up after a message's own budget has run out (deleting a
    /// draft that will not be sent).
    /// </param>
    public GraphCallContext Begin(string mailbox, Func<DateTimeOffset, bool>? renewToken = null, TimeSpan? budget = null) =>
        new(mailbox, time.GetUtcNow() + (budget is { } shorter && shorter < options.Value.RetryBudget ? shorter : options.Value.RetryBudget), renewToken);

    /// <summary>Runs one Graph request under the mailbox limit, the message's budget and the retry rules above.</summary>
    /// <param name="call">The message's context (<see cref="Begin"/>).</param>
    /// <param name="operation">What the request does, for logs and metrics: <c>sendMail</c>, <c>createDraft</c>, ….</param>
    /// <param name="request">Makes the request afresh (a new body each time) and returns its result.</param>
    /// <param name="cancellationToken">The caller giving up.</param>
    /// <exception cref="GraphCallException">Graph refused, did not answer, no token could be had, or the budget ran out.</exception>
    /// <exception cref="OperationCanceledException">The caller gave up while no request was in flight.</exception>
    public async Task<T> RunAsync<T>(GraphCallContext call, string operation, Func<CancellationToken, Task<T>> request, CancellationToken cancellationToken)
    {
        // One span per Graph operation, one child span per attempt (HTTP status, or timeout/network/token), and an event
        // per retry: all under relay.deliver, so in the message's trace.
        using var activity = SenderTelemetry.Source.StartActivity($"graph {operation}", ActivityKind.Client);
        activity?.SetTag("relay.graph.operation", operation);
        activity?.SetTag("server.address", options.Value.BaseUrl is { } baseUrl && Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) ? uri.Host : null);
        var backoffs = 0;
        while (true)
        {
            var attempt = await AttemptAsync(call, operation, request, cancellationToken);
            activity?.SetTag("relay.graph.attempts", call.Attempts);
            if (attempt.Failure is not { } failure)
            {
                return attempt.Value!;
            }
            activity?.AddEvent(new ActivityEvent("graph.failure", tags: new ActivityTagsCollection { ["status"] = failure.Status }));
            switch (failure.Verdict)
            {
                case Verdict.RenewToken when !call.TokenRenewed && call.RenewToken?.Invoke(time.GetUtcNow()) == true:
                    call.TokenRenewed = true;
                    Count(SenderTelemetry.GraphRetries, operation, "reason", failure.Status);
                    activity?.AddEvent(RetryEvent(failure.Status, TimeSpan.Zero, "token renewal"));
                    LogRenewingToken(logger, operation, call.Mailbox, failure.Code);
                    continue;
                case Verdict.Retry:
                    // A Retry-After of zero (or a date gone by) would make a tight loop of it: back off then.
                    var delay = failure.RetryAfter is { } asked && asked > TimeSpan.Zero
                        ? asked
                        : Backoff(++backoffs, options.Value.RetryBaseDelay, Random.Shared.NextDouble());
                    var left = call.Deadline - time.GetUtcNow();
                    if (delay >= left)
                    {
                        throw new GraphCallException(failure.Reply, GraphCallFailure.Refused, failure.HttpStatus, failure.Code,
                            $"{failure.Detail}; gave up after {call.Attempts} attempts: the next could start only in {Seconds(delay)}, "
                            + $"and {Seconds(left)} is left of Graph:RetryBudget", failure.Exception);
                    }
                    Count(SenderTelemetry.GraphRetries, operation, "reason", failure.Status);
                    activity?.AddEvent(RetryEvent(failure.Status, delay, failure.RetryAfter > TimeSpan.Zero ? "Retry-After" : "backoff"));
                    LogRetrying(logger, operation, call.Mailbox, failure.Detail, call.Attempts, (long)delay.TotalMilliseconds,
                        failure.RetryAfter > TimeSpan.Zero ? "Retry-After" : "backoff");
                    await Task.Delay(delay, time, cancellationToken);
                    continue;
                case Verdict.Unanswered:
                    throw new GraphCallException(failure.Reply, GraphCallFailure.Unanswered, failure.HttpStatus, failure.Code, failure.Detail, failure.Exception);
                case Verdict.NoToken:
                    throw new GraphCallException(failure.Reply, GraphCallFailure.NoToken, null, null, failure.Detail, failure.Exception);
                case Verdict.RenewToken:
                    throw new GraphCallException(failure.Reply, GraphCallFailure.Refused, failure.HttpStatus, failure.Code,
                        call.TokenRenewed ? $"{failure.Detail}, for the renewed token too" : $"{failure.Detail}; the token cannot be renewed",
                        failure.Exception);
                default:
                    throw new GraphCallException(failure.Reply, GraphCallFailure.Refused, failure.HttpStatus, failure.Code, failure.Detail, failure.Exception);
            }
        }
    }

    private static ActivityEvent RetryEvent(string reason, TimeSpan delay, string source) =>
        new("graph.retry", tags: new ActivityTagsCollection
        {
            ["relay.graph.retry.reason"] = reason,
            ["relay.graph.retry.delay_ms"] = (long)delay.TotalMilliseconds,
            ["relay.graph.retry.delay_source"] = source,
        });

    /// <summary>
    /// Exponential backoff with full jitter: a pause drawn uniformly below <c>min(30 s, baseDelay × 2^(retry−1))</c>, so
    /// messages throttled together do not come back together.
    /// </summary>
    /// <param name="retry">1 for the first retry.</param>
    /// <param name="baseDelay"><c>Graph:RetryBaseDelay</c>.</param>
    /// <param name="random">A number in [0, 1).</param>
    public static TimeSpan Backoff(int retry, TimeSpan baseDelay, double random)
    {
        var ceiling = Math.Min(MaxBackoff.Ticks, baseDelay.Ticks * Math.Pow(2, Math.Clamp(retry - 1, 0, 30)));
        return TimeSpan.FromTicks((long)(ceiling * Math.Clamp(random, 0, 1)));
    }

    /// <summary>
    /// <c>Retry-After</c> as a pause from <paramref name="now"/>: delta-seconds or an HTTP date (RFC 9110 §10.2.3); a date in
    /// the past is no pause. Null when the header is absent or unreadable.
    /// </summary>
    public static TimeSpan? RetryAfter(IDictionary<string, IEnumerable<string>>? headers, DateTimeOffset now)
    {
        var value = headers?.FirstOrDefault(h => h.Key.Equals("Retry-After", StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();
        if (value is null || !RetryConditionHeaderValue.TryParse(value, out var parsed))
        {
            return null;
        }
        return parsed.Delta ?? (parsed.Date is { } date ? (date > now ? date - now : TimeSpan.Zero) : null);
    }

    /// <summary>One request: a slot, the request under its timeout, and what came of it.</summary>
    private async Task<(T? Value, Failure? Failure)> AttemptAsync<T>(
        GraphCallContext call, string operation, Func<CancellationToken, Task<T>> request, CancellationToken cancellationToken)
    {
        using var activity = SenderTelemetry.Source.StartActivity($"graph {operation} attempt");
        activity?.SetTag("relay.graph.attempt", call.Attempts + 1);
        using var slot = await TakeSlotAsync(call, cancellationToken);
        var timeout = Min(options.Value.RequestTimeout, call.Deadline - time.GetUtcNow());
        if (timeout <= TimeSpan.Zero)
        {
            throw OutOfBudgetWaiting(call); // The slot came just as the budget ran out: nothing was sent.
        }
        using var timer = new CancellationTokenSource(timeout, time);
        using var attemptToken = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        call.Attempts++;
        var started = time.GetTimestamp();
        try
        {
            var value = await request(attemptToken.Token);
            Record(operation, "success", started);
            activity?.SetTag("relay.graph.status", "success");
            return (value, null);
        }
        catch (Exception ex) when (Classify(ex, cancellationToken) is { } failure)
        {
            Record(operation, failure.Status, started);
            activity?.SetTag("relay.graph.status", failure.Status);
            activity?.SetTag("http.response.status_code", failure.HttpStatus);
            activity?.SetTag("relay.graph.error_code", failure.Code);
            activity?.SetStatus(ActivityStatusCode.Error, failure.Status);
            if (failure.HttpStatus is 429 or 503)
            {
                Count(SenderTelemetry.GraphThrottled, operation, "status", failure.Status);
            }
            if (failure.RequestId is { } requestId)
            {
                call.RequestId = requestId;
            }
            return (default, failure);
        }
    }

    /// <summary>Waits for a slot of the mailbox for as long as the budget lasts; the wait is part of it.</summary>
    private async Task<IDisposable> TakeSlotAsync(GraphCallContext call, CancellationToken cancellationToken)
    {
        var left = call.Deadline - time.GetUtcNow();
        if (left > TimeSpan.Zero)
        {
            using var budget = new CancellationTokenSource(left, time);
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, budget.Token);
            try
            {
                return await limiter.AcquireAsync(call.Mailbox, waiting.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The budget ran out while waiting: below.
            }
        }
        throw OutOfBudgetWaiting(call);
    }

    private GraphCallException OutOfBudgetWaiting(GraphCallContext call) =>
        new(GraphErrorMapper.MailboxBusy, GraphCallFailure.Refused, null, null,
            $"Graph:RetryBudget ran out after {call.Attempts} attempts, waiting for one of the mailbox's {limiter.PermitsPerMailbox} concurrent-request slots", null);

    /// <summary>What an exception from a request means, or null when it is not Graph's or the network's (a bug: it propagates).</summary>
    private Failure? Classify(Exception exception, CancellationToken cancellationToken) => exception switch
    {
        ApiException answer => FromAnswer(answer),
        AuthenticationFailedException or MsalException => new Failure(Verdict.NoToken, "token", null, null, null, null,
            GraphErrorMapper.TokenUnavailable,
            // MSAL's inner message names the AADSTS code (never the secret); Azure.Identity's outer one stops short of it.
            exception.InnerException?.Message ?? exception.Message, exception),
        OperationCanceledException when cancellationToken.IsCancellationRequested =>
            Unanswered("cancelled", "the caller gave up while the request was in flight", exception),
        OperationCanceledException =>
            Unanswered("timeout", "no response within Graph:RequestTimeout or what was left of Graph:RetryBudget", exception),
        HttpRequestException network when NeverSent(network) => new Failure(Verdict.Retry, "network", null, null, null, null,
            GraphErrorMapper.Unreachable, $"Graph not reached ({network.HttpRequestError}: {network.Message})", exception),
        HttpRequestException or IOException =>
            Unanswered("network", $"connection failed after the request was sent ({exception.Message})", exception),
        _ => null,
    };

    private Failure FromAnswer(ApiException answer)
    {
        var status = answer.ResponseStatusCode;
        var error = (answer as ODataError)?.Error;
        var code = error?.Code;
        var verdict = status == 401 ? Verdict.RenewToken
            : code is not null && TransientCodes.Contains(code) ? Verdict.Retry
            // A code that names the refusal (a quota, a denied mailbox) says what happened, whatever the status.
            : GraphErrorMapper.ForCode(code) is not null ? Verdict.Refused
            : status is 429 or 503 ? Verdict.Retry
            // 500, 502, 504 without such a code: Graph, or a gateway in front of it, does not say the request was not carried out.
            : status >= 500 ? Verdict.Unanswered
            : Verdict.Refused;
        var requestId = error?.InnerError?.RequestId
            ?? answer.ResponseHeaders.FirstOrDefault(h => h.Key.Equals("request-id", StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();
        var text = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new Failure(verdict, text, status, code, RetryAfter(answer.ResponseHeaders, time.GetUtcNow()), requestId,
            GraphErrorMapper.Map(status, code), $"HTTP {text} {code}".TrimEnd(), answer);
    }

    private static Failure Unanswered(string status, string detail, Exception exception) =>
        new(Verdict.Unanswered, status, null, null, null, null, GraphErrorMapper.NoResponse, detail, exception);

    /// <summary>
    /// Network errors that happen before a single byte of the request leaves: the name did not resolve, the connection
    /// was refused or could not be made, the TLS handshake failed. Graph cannot have seen such a request.
    /// </summary>
    private static bool NeverSent(HttpRequestException exception) =>
        exception.HttpRequestError is HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError
        || exception.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.NetworkUnreachable };

    private void Record(string operation, string status, long started) =>
        SenderTelemetry.GraphRequestDuration.Record(time.GetElapsedTime(started).TotalSeconds,
            new KeyValuePair<string, object?>("operation", operation), new KeyValuePair<string, object?>("status", status));

    private static void Count(System.Diagnostics.Metrics.Counter<long> counter, string operation, string tag, string value) =>
        counter.Add(1, new KeyValuePair<string, object?>("operation", operation), new KeyValuePair<string, object?>(tag, value));

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static string Seconds(TimeSpan span) => $"{span.TotalSeconds:0.#} s";

    private enum Verdict
    {
        /// <summary>Graph did not do it and says try again (or never saw it): retry within the budget.</summary>
        Retry,
        /// <summary>401: a fresh token, once.</summary>
        RenewToken,
        /// <summary>Graph did not do it and will not: the mapped reply.</summary>
        Refused,
        /// <summary>It may have been done: never retried.</summary>
        Unanswered,
        /// <summary>No token: nothing was sent.</summary>
        NoToken,
    }

    /// <param name="Status">For metrics and traces: the HTTP status, or <c>timeout</c>, <c>network</c>, <c>token</c>, <c>cancelled</c>.</param>
    private sealed record Failure(
        Verdict Verdict, string Status, int? HttpStatus, string? Code, TimeSpan? RetryAfter, string? RequestId, SmtpReply Reply, string Detail, Exception Exception);

    /// <summary>Debug: the audit line sums them up (attempts), and the retries and throttled counters count them.</summary>
    [LoggerMessage(Level = LogLevel.Debug,
        Message = "Graph {Operation} for {Mailbox}: {Failure} on attempt {Attempt}; trying again in {DelayMs} ms ({DelaySource})")]
    private static partial void LogRetrying(ILogger logger, string operation, string mailbox, string failure, int attempt, long delayMs, string delaySource);

    [LoggerMessage(Level = LogLevel.Information, Message = "Graph {Operation} for {Mailbox}: token refused (401 {GraphCode}); signing in again")]
    private static partial void LogRenewingToken(ILogger logger, string operation, string mailbox, string? graphCode);
}

/// <summary>
/// One message's requests to Graph: the mailbox they count against, when its budget ends, how its token is renewed,
/// and what came of them so far.
/// </summary>
public sealed class GraphCallContext(string mailbox, DateTimeOffset deadline, Func<DateTimeOffset, bool>? renewToken)
{
    public string Mailbox => mailbox;

    /// <summary>When <c>Graph:RetryBudget</c> runs out for this message.</summary>
    public DateTimeOffset Deadline => deadline;

    /// <summary>Requests made (a request waiting for a slot is not one yet).</summary>
    public int Attempts { get; internal set; }

    /// <summary>The request-id of the last error answer: what Microsoft support asks for.</summary>
    public string? RequestId { get; internal set; }

    internal Func<DateTimeOffset, bool>? RenewToken => renewToken;

    /// <summary>A message renews its token once; a second 401 is a failure.</summary>
    internal bool TokenRenewed { get; set; }
}

/// <summary>What kind of failure a <see cref="GraphCallException"/> is.</summary>
public enum GraphCallFailure
{
    /// <summary>Certainly not carried out: Graph refused, or the request never left, or the budget ran out first.</summary>
    Refused,
    /// <summary>No answer that says what happened (timeout, connection lost, 5xx from a gateway): it may have been carried out.</summary>
    Unanswered,
    /// <summary>No token could be had for the credential: nothing was sent.</summary>
    NoToken,
}

/// <summary>A Graph request that did not succeed: the SMTP reply to give, and what is known of what happened.</summary>
public sealed class GraphCallException(
    SmtpReply reply, GraphCallFailure failure, int? status, string? graphCode, string message, Exception? innerException)
    : Exception(message, innerException)
{
    public SmtpReply Reply => reply;

    public GraphCallFailure Failure => failure;

    /// <summary>The HTTP status of Graph's last answer, if there was one.</summary>
    public int? Status => status;

    /// <summary>Graph's <c>error.code</c>, if it gave one.</summary>
    public string? GraphCode => graphCode;
}
