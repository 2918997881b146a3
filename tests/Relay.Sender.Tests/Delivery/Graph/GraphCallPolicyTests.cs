using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Sockets;
using Azure.Identity;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Graph.Models.ODataErrors;
using Relay.Sender.Delivery.Graph;

namespace Relay.Sender.Tests.Delivery.Graph;

/// <summary>
/// The retry rules of <see cref="GraphCallPolicy"/> on a fake clock: no test waits for real time, and every pause is
/// measured on the clock the policy sleeps on.
/// </summary>
public sealed class GraphCallPolicyTests
{
    private const string Mailbox = "scanner@contoso.com";

    // A whole second, so HTTP dates (second resolution) fall where the test puts them.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));

    /// <summary>When each request was made, on the fake clock.</summary>
    private readonly ConcurrentQueue<DateTimeOffset> _attempts = new();

    private GraphCallPolicy Policy(TimeSpan? budget = null, TimeSpan? requestTimeout = null, MailboxConcurrencyLimiter? limiter = null) =>
        new(limiter ?? new MailboxConcurrencyLimiter(4),
            Options.Create(new GraphOptions
            {
                RetryBudget = budget ?? TimeSpan.FromMinutes(3),
                RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(100),
                RetryBaseDelay = TimeSpan.FromSeconds(1),
            }),
            _time, NullLogger<GraphCallPolicy>.Instance);

    /// <summary>Graph's answer as the SDK throws it.</summary>
    private static ODataError Answer(int status, string? code = null, string? retryAfter = null, string? requestId = null)
    {
        var headers = new Dictionary<string, IEnumerable<string>>(StringComparer.OrdinalIgnoreCase);
        if (retryAfter is not null)
        {
            headers["Retry-After"] = [retryAfter];
        }
        return new ODataError
        {
            ResponseStatusCode = status,
            ResponseHeaders = headers,
            Error = new MainError { Code = code, InnerError = new InnerError { RequestId = requestId } },
        };
    }

    /// <summary>A request whose nth attempt (1-based) does what <paramref name="attempt"/> says: throw, or return.</summary>
    private Func<CancellationToken, Task<string>> Request(Func<int, CancellationToken, Task<string>> attempt)
    {
        var count = 0;
        return token =>
        {
            _attempts.Enqueue(_time.GetUtcNow());
            return attempt(Interlocked.Increment(ref count), token);
        };
    }

    private Func<CancellationToken, Task<string>> Answers(params Exception?[] failures) =>
        Request((n, _) => n <= failures.Length && failures[n - 1] is { } failure ? Task.FromException<string>(failure) : Task.FromResult($"ok after {n}"));

    /// <summary>Runs the policy outside the test's context and moves the fake clock on until it is done.</summary>
    private async Task<T> DriveAsync<T>(Func<Task<T>> run, TimeSpan? step = null)
    {
        var running = Task.Run(run);
        var moved = TimeSpan.Zero;
        while (!running.IsCompleted)
        {
            await Task.Delay(1);
            if (running.IsCompleted)
            {
                break;
            }
            _time.Advance(step ?? TimeSpan.FromMilliseconds(100));
            moved += step ?? TimeSpan.FromMilliseconds(100);
            Assert.True(moved < TimeSpan.FromHours(1), "The policy never finished");
        }
        return await running;
    }

    private TimeSpan[] Pauses() => _attempts.Zip(_attempts.Skip(1), (earlier, later) => later - earlier).ToArray();

    [Fact]
    public async Task RetryAfterInSecondsIsWaitedOutBeforeTheNextAttempt()
    {
        var policy = Policy();
        var call = policy.Begin(Mailbox);

        var result = await DriveAsync(() => policy.RunAsync(call, "sendMail", Answers(Answer(429, "ApplicationThrottled", "7")), CancellationToken.None));

        Assert.Equal("ok after 2", result);
        Assert.Equal(2, call.Attempts);
        var pause = Assert.Single(Pauses());
        Assert.InRange(pause, TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(7.2));
    }

    [Fact]
    public async Task RetryAfterAsAnHttpDateIsWaitedOutUntilThatDate()
    {
        var policy = Policy();
        var call = policy.Begin(Mailbox);
        var date = _time.GetUtcNow().AddSeconds(12).ToString("r", CultureInfo.InvariantCulture);

        await DriveAsync(() => policy.RunAsync(call, "sendMail", Answers(Answer(503, "ErrorServerBusy", date)), CancellationToken.None));

        Assert.InRange(Assert.Single(Pauses()), TimeSpan.FromSeconds(12), TimeSpan.FromSeconds(12.2));
    }

    [Theory]
    [InlineData("120", 120)]
    [InlineData("0", 0)]
    [InlineData("Mon, 23 Nov 2026 12:00:30 GMT", 30)]
    [InlineData("Mon, 23 Nov 2026 11:00:00 GMT", 0)]
    public void RetryAfterIsReadAsSecondsOrAsADate(string header, int seconds)
    {
        var headers = new Dictionary<string, IEnumerable<string>> { ["retry-after"] = [header] };

        Assert.Equal(TimeSpan.FromSeconds(seconds), GraphCallPolicy.RetryAfter(headers, _time.GetUtcNow()));
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("")]
    public void AnUnreadableRetryAfterIsNone(string header) =>
        Assert.Null(GraphCallPolicy.RetryAfter(new Dictionary<string, IEnumerable<string>> { ["Retry-After"] = [header] }, _time.GetUtcNow()));

    [Fact]
    public void BackoffDoublesItsCeilingFromTheBaseDelayUpToThirtySecondsAndDrawsBelowIt()
    {
        var baseDelay = TimeSpan.FromSeconds(1);
        double[] ceilings = [1, 2, 4, 8, 16, 30, 30, 30];

        for (var retry = 1; retry <= ceilings.Length; retry++)
        {
            Assert.Equal(TimeSpan.Zero, GraphCallPolicy.Backoff(retry, baseDelay, 0));
            Assert.Equal(TimeSpan.FromSeconds(ceilings[retry - 1] / 2), GraphCallPolicy.Backoff(retry, baseDelay, 0.5));
            Assert.True(GraphCallPolicy.Backoff(retry, baseDelay, 0.999999) < TimeSpan.FromSeconds(ceilings[retry - 1]));
        }
        Assert.Equal(GraphCallPolicy.MaxBackoff / 2, GraphCallPolicy.Backoff(int.MaxValue, baseDelay, 0.5));
    }

    [Fact]
    public async Task WithoutRetryAfterPausesAreJitteredBelowTheirGrowingCeiling()
    {
        var policy = Policy();
        var call = policy.Begin(Mailbox);
        var busy = Enumerable.Range(0, 4).Select(_ => (Exception)Answer(503, "ErrorServerBusy")).ToArray();

        await DriveAsync(() => policy.RunAsync(call, "sendMail", Answers(busy), CancellationToken.None), TimeSpan.FromMilliseconds(50));

        var pauses = Pauses();
        Assert.Equal(4, pauses.Length);
        for (var i = 0; i < pauses.Length; i++)
        {
            Assert.True(pauses[i] <= TimeSpan.FromSeconds(Math.Pow(2, i)) + TimeSpan.FromMilliseconds(100), $"pause {i + 1} was {pauses[i]}");
        }
        var draws = Enumerable.Range(0, 200).Select(_ => GraphCallPolicy.Backoff(4, TimeSpan.FromSeconds(1), Random.Shared.NextDouble())).ToArray();
        Assert.All(draws, draw => Assert.InRange(draw, TimeSpan.Zero, TimeSpan.FromSeconds(8)));
        Assert.True(draws.Distinct().Count() > 100, "Backoff is not jittered");
    }

    [Fact]
    public async Task ThrottlingThatNeverEndsIsAnswered451WithinTheBudget()
    {
        var policy = Policy(budget: TimeSpan.FromSeconds(10));
        var call = policy.Begin(Mailbox);
        var started = _time.GetUtcNow();

        var failure = await Assert.ThrowsAsync<GraphCallException>(() => DriveAsync(() =>
            policy.RunAsync(call, "sendMail", Request((_, _) => throw Answer(429, "ApplicationThrottled", "1")), CancellationToken.None)));

        Assert.Equal(451, failure.Reply.Code);
        Assert.Equal("4.4.2", failure.Reply.EnhancedCode);
        Assert.Equal(GraphCallFailure.Refused, failure.Failure);
        Assert.True(_attempts.Last() - started < TimeSpan.FromSeconds(10), "An attempt started after the budget");
        Assert.InRange(call.Attempts, 9, 10);
        Assert.True(_time.GetUtcNow() - started <= TimeSpan.FromSeconds(10.1), "The policy slept past the budget");
    }

    [Fact]
    public async Task ARetryAfterLongerThanWhatIsLeftOfTheBudgetGivesUpAtOnce()
    {
        var policy = Policy(budget: TimeSpan.FromMinutes(1));
        var call = policy.Begin(Mailbox);

        var running = policy.RunAsync(call, "sendMail", Answers(Answer(429, "ApplicationThrottled", "120")), CancellationToken.None);

        Assert.True(running.IsCompleted, "The policy waited for a pause that could not fit in the budget");
        var failure = await Assert.ThrowsAsync<GraphCallException>(() => running);
        Assert.Equal(451, failure.Reply.Code);
        Assert.Equal(429, failure.Status);
        Assert.Contains("Graph:RetryBudget", failure.Message, StringComparison.Ordinal);
        Assert.Equal(1, call.Attempts);
    }

    [Theory]
    [InlineData(HttpRequestError.ConnectionError)]
    [InlineData(HttpRequestError.NameResolutionError)]
    [InlineData(HttpRequestError.SecureConnectionError)]
    public async Task ANetworkErrorBeforeTheRequestLeftIsRetried(HttpRequestError error)
    {
        var policy = Policy();
        var call = policy.Begin(Mailbox);
        var refused = new HttpRequestException(error, "Connection refused (graph.microsoft.com:443)",
            new SocketException((int)SocketError.ConnectionRefused));

        var result = await DriveAsync(() => policy.RunAsync(call, "sendMail", Answers(refused), CancellationToken.None));

        Assert.Equal("ok after 2", result);
    }

    [Fact]
    public async Task AConnectionRefusedSeenOnlyInTheInnerSocketErrorIsRetried()
    {
        var policy = Policy();
        var call = policy.Begin(Mailbox);
        var refused = new HttpRequestException("Connection refused", new SocketException((int)SocketError.ConnectionRefused));

        Assert.Equal("ok after 2", await DriveAsync(() => policy.RunAsync(call, "sendMail", Answers(refused), CancellationToken.None)));
    }

    public static TheoryData<string, Exception> MayHaveBeenCarriedOut => new()
    {
        { "connection lost mid-response", new HttpRequestException(HttpRequestError.ResponseEnded, "The response ended prematurely.") },
        { "reset while reading", new IOException("Connection reset by peer") },
        { "unknown network error", new HttpRequestException("An error occurred while sending the request.") },
        { "504 from a gateway", Answer(504, "GatewayTimeout") },
        { "502 from a gateway", Answer(502) },
        { "500 without a transient code", Answer(500, "InternalServerError") },
    };

    [Theory]
    [MemberData(nameof(MayHaveBeenCarriedOut))]
    public async Task ARequestThatMayHaveBeenCarriedOutIsNeverSentAgain(string what, Exception failure)
    {
        var policy = Policy();
        var call = policy.Begin(Mailbox);

        var thrown = await Assert.ThrowsAsync<GraphCallException>(() => DriveAsync(() => policy.RunAsync(call, "sendMail", Answers(failure), CancellationToken.None)));

        Assert.True(thrown.Failure == GraphCallFailure.Unanswered, what);
        Assert.Equal(451, thrown.Reply.Code);
        Assert.Single(_attempts);
    }

    [Fact]
    public async Task ARequestThatTimesOutIsNeverSentAgain()
    {
        var policy = Policy(requestTimeout: TimeSpan.FromSeconds(30));
        var call = policy.Begin(Mailbox);
        var stalled = Request(async (_, token) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, _time, token);
            return "never";
        });

        var thrown = await Assert.ThrowsAsync<GraphCallException>(() =>
            DriveAsync(() => policy.RunAsync(call, "sendMail", stalled, CancellationToken.None), TimeSpan.FromSeconds(1)));

        Assert.Equal(GraphCallFailure.Unanswered, thrown.Failure);
        Assert.Equal(GraphErrorMapper.NoResponse, thrown.Reply);
        Assert.Single(_attempts);
        Assert.InRange(_time.GetUtcNow() - _attempts.Single(), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(31));
    }

    [Fact]
    public async Task ARequestIsNeverGivenMoreTimeThanIsLeftOfTheBudget()
    {
        var policy = Policy(budget: TimeSpan.FromSeconds(20), requestTimeout: TimeSpan.FromSeconds(100));
        var call = policy.Begin(Mailbox);
        var stalled = Request(async (_, token) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, _time, token);
            return "never";
        });

        await Assert.ThrowsAsync<GraphCallException>(() =>
            DriveAsync(() => policy.RunAsync(call, "sendMail", stalled, CancellationToken.None), TimeSpan.FromSeconds(1)));

        Assert.InRange(_time.GetUtcNow() - _attempts.Single(), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(21));
    }

    [Theory]
    [InlineData(400, "ErrorInvalidRecipients", 550, "5.1.1")]
    [InlineData(403, "ErrorSendAsDenied", 550, "5.7.1")]
    [InlineData(400, "ErrorMimeContentInvalid", 554, "5.6.0")]
    [InlineData(413, null, 552, "5.3.4")]
    [InlineData(500, "ErrorSubmissionQuotaExceeded", 452, "4.5.3")]
    [InlineData(429, "ErrorSubmissionQuotaExceeded", 452, "4.5.3")]
    public async Task ARefusalIsAnsweredAsMappedWithoutRetrying(int status, string? code, int reply, string enhanced)
    {
        var policy = Policy();
        var call = policy.Begin(Mailbox);

        var thrown = await Assert.ThrowsAsync<GraphCallException>(() =>
            policy.RunAsync(call, "sendMail", Answers(Answer(status, code, requestId: "req-1")), CancellationToken.None));

        Assert.Equal(GraphCallFailure.Refused, thrown.Failure);
        Assert.Equal((reply, enhanced), (thrown.Reply.Code, thrown.Reply.EnhancedCode));
        Assert.Equal(1, call.Attempts);
        Assert.Equal("req-1", call.RequestId);
    }

    [Theory]
    [InlineData(500, "ErrorInternalServerTransientError")]
    [InlineData(500, "ErrorMailboxStoreUnavailable")]
    [InlineData(500, "ErrorMailboxMoveInProgress")]
    [InlineData(503, null)]
    [InlineData(429, null)]
    public async Task WhatGraphSaysItDidNotDoIsRetried(int status, string? code)
    {
        var policy = Policy();
        var call = policy.Begin(Mailbox);

        var result = await DriveAsync(() => policy.RunAsync(call, "sendMail", Answers(Answer(status, code)), CancellationToken.None));

        Assert.Equal("ok after 2", result);
    }

    [Fact]
    public async Task A401RenewsTheTokenOnceAndTriesAgainAtOnce()
    {
        var policy = Policy();
        var renewals = new List<DateTimeOffset>();
        var call = policy.Begin(Mailbox, rejectedAt => { renewals.Add(rejectedAt); return true; });

        var result = await policy.RunAsync(call, "sendMail", Answers(Answer(401, "InvalidAuthenticationToken")), CancellationToken.None);

        Assert.Equal("ok after 2", result);
        Assert.Equal([_time.GetUtcNow()], renewals);
    }

    [Fact]
    public async Task ASecond401IsATemporaryTokenFailure()
    {
        var policy = Policy();
        var renewals = 0;
        var call = policy.Begin(Mailbox, _ => { renewals++; return true; });

        var thrown = await Assert.ThrowsAsync<GraphCallException>(() => policy.RunAsync(call, "sendMail",
            Answers(Answer(401, "InvalidAuthenticationToken"), Answer(401, "InvalidAuthenticationToken")), CancellationToken.None));

        Assert.Equal((451, "4.7.0"), (thrown.Reply.Code, thrown.Reply.EnhancedCode));
        Assert.Equal(1, renewals);
        Assert.Equal(2, call.Attempts);
    }

    [Fact]
    public async Task A401ForACredentialThatCannotBeRenewedIsNotTriedAgain()
    {
        var policy = Policy();
        var call = policy.Begin(Mailbox, _ => false);

        var thrown = await Assert.ThrowsAsync<GraphCallException>(() =>
            policy.RunAsync(call, "sendMail", Answers(Answer(401, "InvalidAuthenticationToken")), CancellationToken.None));

        Assert.Equal(451, thrown.Reply.Code);
        Assert.Equal(1, call.Attempts);
    }

    [Fact]
    public async Task NoTokenIsATemporaryFailureAndNothingIsRetried()
    {
        var policy = Policy();
        var call = policy.Begin(Mailbox);
        var entra = new AuthenticationFailedException("ClientSecretCredential authentication failed",
            new InvalidOperationException("AADSTS7000215: Invalid client secret provided."));

        var thrown = await Assert.ThrowsAsync<GraphCallException>(() => policy.RunAsync(call, "sendMail", Answers(entra), CancellationToken.None));

        Assert.Equal(GraphCallFailure.NoToken, thrown.Failure);
        Assert.Equal(GraphErrorMapper.TokenUnavailable, thrown.Reply);
        Assert.Contains("AADSTS7000215", thrown.Message, StringComparison.Ordinal);
        Assert.Equal(1, call.Attempts);
    }

    [Fact]
    public async Task WaitingForAMailboxSlotCountsAgainstTheBudget()
    {
        var limiter = new MailboxConcurrencyLimiter(1);
        using var busy = await limiter.AcquireAsync(Mailbox.ToUpperInvariant(), CancellationToken.None);
        var policy = Policy(budget: TimeSpan.FromSeconds(5), limiter: limiter);
        var call = policy.Begin(Mailbox);

        var thrown = await Assert.ThrowsAsync<GraphCallException>(() => DriveAsync(() => policy.RunAsync(call, "sendMail", Answers(), CancellationToken.None)));

        Assert.Equal((451, "4.3.0"), (thrown.Reply.Code, thrown.Reply.EnhancedCode));
        Assert.Equal(0, call.Attempts);
        Assert.Empty(_attempts);
        Assert.InRange(_time.GetUtcNow() - call.Deadline, TimeSpan.Zero, TimeSpan.FromSeconds(0.2));
    }

    [Fact]
    public async Task AMessageWaitingToRetryHoldsNoSlot()
    {
        var limiter = new MailboxConcurrencyLimiter(1);
        var policy = Policy(limiter: limiter);
        var throttled = policy.Begin(Mailbox);
        var running = Task.Run(() => policy.RunAsync(throttled, "sendMail", Answers(Answer(429, "ApplicationThrottled", "60")), CancellationToken.None));
        while (throttled.Attempts == 0 || limiter.ActiveMailboxes != 0)
        {
            await Task.Delay(1);
        }

        var other = await policy.RunAsync(policy.Begin(Mailbox), "sendMail", _ => Task.FromResult("sent meanwhile"), CancellationToken.None);

        Assert.Equal("sent meanwhile", other);
        Assert.False(running.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal("ok after 2", await running.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task TheRequestsOfOneMessageShareOneBudget()
    {
        var policy = Policy(budget: TimeSpan.FromSeconds(10));
        var call = policy.Begin(Mailbox);

        await DriveAsync(() => policy.RunAsync(call, "createDraft", Answers(Answer(429, "ApplicationThrottled", "6")), CancellationToken.None));
        var running = policy.RunAsync(call, "send", Answers(Answer(429, "ApplicationThrottled", "6")), CancellationToken.None);

        Assert.True(running.IsCompleted, "The second request was given a budget of its own");
        await Assert.ThrowsAsync<GraphCallException>(() => running);
        Assert.Equal(3, call.Attempts);
    }

    [Fact]
    public async Task TheCallerGivingUpWhileWaitingToRetryStopsAtOnce()
    {
        var policy = Policy();
        var call = policy.Begin(Mailbox);
        using var giveUp = new CancellationTokenSource();

        var running = policy.RunAsync(call, "sendMail", Answers(Answer(429, "ApplicationThrottled", "60")), giveUp.Token);
        await giveUp.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        Assert.Single(_attempts);
    }

    [Fact]
    public async Task RetriesAndThrottledAnswersAreCountedByOperationAndNeverByMailbox()
    {
        const string operation = "metrics-test-operation";
        var measurements = new ConcurrentQueue<(string Instrument, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Relay.Sender" && instrument.Name.StartsWith("relay.sender.graph.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record<T>(Instrument instrument, T _, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? __)
        {
            var dictionary = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                dictionary[tag.Key] = tag.Value;
            }
            if (Equals(dictionary.GetValueOrDefault("operation"), operation))
            {
                measurements.Enqueue((instrument.Name, dictionary));
            }
        }
        listener.SetMeasurementEventCallback<long>(Record);
        listener.SetMeasurementEventCallback<double>(Record);
        listener.Start();
        var policy = Policy();

        await DriveAsync(() => policy.RunAsync(policy.Begin(Mailbox), operation,
            Answers(Answer(429, "ApplicationThrottled", "1"), Answer(503, "ErrorServerBusy", "1")), CancellationToken.None));

        Assert.Equal(2, measurements.Count(m => m.Instrument == "relay.sender.graph.retries"));
        Assert.Equal(["429", "503"], measurements.Where(m => m.Instrument == "relay.sender.graph.throttled").Select(m => m.Tags["status"]));
        Assert.Equal(["429", "503", "success"], measurements.Where(m => m.Instrument == "relay.sender.graph.request.duration").Select(m => m.Tags["status"]));
        Assert.All(measurements, m => Assert.DoesNotContain(m.Tags.Values, value => value is string text && text.Contains('@', StringComparison.Ordinal)));
    }
}
