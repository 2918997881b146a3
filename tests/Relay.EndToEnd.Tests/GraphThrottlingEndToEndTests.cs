using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using Relay.Sender.Delivery.Graph;
using Relay.Smtp;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// Throttling, retries, token renewal and the mailbox concurrency limit, through SMTP against the fake cloud: every
/// message is answered, none is lost, none is sent twice by Relay.
/// </summary>
public sealed partial class GraphThrottlingEndToEndTests
{
    /// <summary>Short pauses so that backoff without Retry-After stays well under a second.</summary>
    private static readonly Dictionary<string, string?> QuickBackoff = new() { ["Graph:RetryBaseDelay"] = "00:00:00.100" };

    [Fact]
    public void TheDefaultRetryBudgetEndsWellBeforeRelaySmtpStopsWaiting()
    {
        var budget = new GraphOptions().RetryBudget;
        var smtpWaits = new SmtpOptions().SubmissionTimeout;

        // Signing in (up to ~30 s when Entra is slow) comes before the budget starts; the reply must still arrive in time.
        Assert.True(budget + TimeSpan.FromMinutes(1) <= smtpWaits, $"Graph:RetryBudget {budget} leaves too little of Smtp:SubmissionTimeout {smtpWaits}");
    }

    [Fact]
    public async Task AStormOf429sDelaysMessagesButLosesNoneAndSendsNoneTwice()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, QuickBackoff);
        var clock = Stopwatch.StartNew();
        var attempts = new ConcurrentDictionary<string, ConcurrentQueue<TimeSpan>>();
        cloud.SendMailFault = request =>
        {
            var seen = attempts.GetOrAdd(MessageId(request.Mime!), _ => new ConcurrentQueue<TimeSpan>());
            seen.Enqueue(clock.Elapsed);
            return seen.Count <= 2 ? GraphFault.Throttled(TimeSpan.FromSeconds(1)) : null;
        };
        var messages = Enumerable.Range(0, 24)
            .Select(i => SmtpClients.Message($"scanner{i % 3}@contoso.com", "alice@fabrikam.com", $"Scan {i}"))
            .ToList();

        var replies = await SendInSessionsAsync(stack.SmtpPort, messages, sessions: 24);

        Assert.All(replies, reply => Assert.StartsWith("2.0.0", reply, StringComparison.Ordinal));
        var delivered = cloud.SentMail.Select(sent => MessageId(sent.Mime!)).ToList();
        Assert.Equal(messages.Select(m => m.MessageId).Order(), delivered.Order());
        Assert.All(attempts.Values, times =>
        {
            Assert.Equal(3, times.Count);
            Assert.All(times.Zip(times.Skip(1), (earlier, later) => later - earlier),
                pause => Assert.True(pause >= TimeSpan.FromSeconds(0.98), $"Retry-After: 1 was not waited out ({pause})"));
        });
        Assert.Equal(24, stack.Logs.Count(line => line.Contains("path mime, 3 attempts", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ServerBusyIsRetriedAndTheMessageDelivered()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, QuickBackoff);
        cloud.SendMailFault = request => request.Attempt == 1 ? GraphFault.ServiceUnavailable() : null;

        var reply = await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com"));

        Assert.StartsWith("2.0.0", reply, StringComparison.Ordinal);
        Assert.Single(cloud.SentMail);
        Assert.Equal([503, 202], SendMailStatuses(cloud));
        Assert.Contains(stack.Logs, line => line.Contains("path mime, 2 attempts", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARetryAfterLongerThanTheBudgetIsAnswered451AtOnce()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, new Dictionary<string, string?> { ["Graph:RetryBudget"] = "00:00:30" });
        cloud.SendMailFault = _ => GraphFault.Throttled(TimeSpan.FromMinutes(5));
        var clock = Stopwatch.StartNew();

        var deferred = await Assert.ThrowsAsync<SmtpCommandException>(() =>
            SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com")));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"Answered after {clock.Elapsed}");
        Assert.Equal(451, (int)deferred.StatusCode);
        Assert.StartsWith("4.4.2", deferred.Message, StringComparison.Ordinal);
        Assert.Equal([429], SendMailStatuses(cloud));
        Assert.Contains(stack.Logs, line => line.Contains("Graph:RetryBudget", StringComparison.Ordinal) && line.Contains("300 s", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARevokedTokenIsRenewedOnceAndTheMessageDelivered()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud);
        await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com"));
        var tokensBefore = cloud.TokenRequestCount;

        cloud.RevokeTokens();
        var reply = await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "bob@fabrikam.com"));
        await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "carol@fabrikam.com"));

        Assert.StartsWith("2.0.0", reply, StringComparison.Ordinal);
        Assert.Equal(3, cloud.SentMail.Count);
        Assert.Equal([202, 401, 202, 202], SendMailStatuses(cloud));
        Assert.Equal(tokensBefore + 1, cloud.TokenRequestCount);
        Assert.NotEqual(cloud.SentMail[0].BearerToken, cloud.SentMail[1].BearerToken);
        Assert.Equal(cloud.SentMail[1].BearerToken, cloud.SentMail[2].BearerToken);
    }

    [Fact]
    public async Task AnAppLoginWhoseTokenWasRevokedSignsInAgainOnce()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.RegisterApp(AppLoginEndToEndTests.Tenant, AppLoginEndToEndTests.Client, AppLoginEndToEndTests.Secret);
        await using var stack = await RelayStack.StartAsync(cloud, new Dictionary<string, string?> { ["Identity:AppLogins:Enabled"] = "true" });
        const string login = $"{AppLoginEndToEndTests.Tenant}@{AppLoginEndToEndTests.Client}";
        await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("erp@fabrikam.com", "alice@example.com"),
            user: login, password: AppLoginEndToEndTests.Secret);

        cloud.RevokeTokens();
        var reply = await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("erp@fabrikam.com", "bob@example.com"),
            user: login, password: AppLoginEndToEndTests.Secret);

        Assert.StartsWith("2.0.0", reply, StringComparison.Ordinal);
        Assert.Equal([202, 401, 202], SendMailStatuses(cloud));
        Assert.Equal(2, AppLoginEndToEndTests.TokenRequests(cloud, AppLoginEndToEndTests.Client));
    }

    [Fact]
    public async Task ATokenRefusedTwiceIsATemporaryFailure()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud);
        cloud.SendMailFault = _ => new GraphFault(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.");

        var deferred = await Assert.ThrowsAsync<SmtpCommandException>(() =>
            SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com")));

        Assert.Equal(451, (int)deferred.StatusCode);
        Assert.StartsWith("4.7.0", deferred.Message, StringComparison.Ordinal);
        Assert.Equal([401, 401], SendMailStatuses(cloud));
        Assert.Empty(cloud.SentMail);
    }

    [Fact]
    public async Task AStalledSendMailIsAnswered451AndNeverSentAgain()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, new Dictionary<string, string?> { ["Graph:RequestTimeout"] = "00:00:05" });
        using var release = new ManualResetEventSlim();
        var requests = 0;
        cloud.SendMailFault = _ =>
        {
            Interlocked.Increment(ref requests);
            release.Wait(TimeSpan.FromSeconds(30)); // Graph takes the message and says nothing for 30 seconds.
            return null;
        };
        var message = SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com");
        var clock = Stopwatch.StartNew();
        try
        {
            var deferred = await Assert.ThrowsAsync<SmtpCommandException>(() => SmtpClients.SendWithMailKitAsync(stack.SmtpPort, message));

            Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(20));
            Assert.Equal(451, (int)deferred.StatusCode);
            var warning = Assert.Single(stack.Logs, line => line.Contains("may have been sent", StringComparison.Ordinal));
            Assert.StartsWith("Warning", warning, StringComparison.Ordinal);
            var queueId = MayHaveBeenSent().Match(warning) is { Success: true } match ? match.Groups[1].Value : null;
            Assert.NotNull(queueId);
            Assert.Contains($"(Message-ID <{message.MessageId}>)", warning, StringComparison.Ordinal);
            Assert.Contains(stack.Logs, line => line.Contains($"Message {queueId} deferred", StringComparison.Ordinal)
                && line.Contains("1 attempts", StringComparison.Ordinal));
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.Equal(1, Volatile.Read(ref requests));
        }
        finally
        {
            release.Set();
        }
        // Graph did take it in the end: had Relay sent it again, it would have gone out twice.
        await WaitUntilAsync(() => cloud.SentMail.Count == 1);
        Assert.Equal(1, Volatile.Read(ref requests));
    }

    [Fact]
    public async Task OneBusyMailboxNeverHasMoreThanFourRequestsInFlightWhileFiftyOthersRunInParallel()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        var inFlight = new InFlight();
        await using var stack = await RelayStack.StartAsync(cloud,
            configureSender: builder => builder.Services.AddHttpClient(GraphClientProvider.GraphHttpClient)
                .AddHttpMessageHandler(() => new InFlightHandler(inFlight, TimeSpan.FromMilliseconds(20))));
        var atGraph = new InFlight();
        cloud.SendMailFault = request =>
        {
            // Graph's own view: requests overlapping in the fake (they can only overlap less than on Relay's side).
            atGraph.Enter(request.Mailbox);
            atGraph.Leave(request.Mailbox);
            return null;
        };
        var busy = Enumerable.Range(0, 200).Select(i => SmtpClients.Message(i % 2 == 0 ? "BUSY@contoso.com" : "busy@contoso.com", "alice@fabrikam.com", $"Busy {i}"));
        var spread = Enumerable.Range(0, 200).Select(i => SmtpClients.Message($"user{i % 50}@contoso.com", "alice@fabrikam.com", $"Spread {i}"));

        var replies = await Task.WhenAll(
            SendInSessionsAsync(stack.SmtpPort, busy.ToList(), sessions: 16),
            SendInSessionsAsync(stack.SmtpPort, spread.ToList(), sessions: 16));

        Assert.All(replies.SelectMany(r => r), reply => Assert.StartsWith("2.0.0", reply, StringComparison.Ordinal));
        Assert.Equal(400, cloud.SentMail.Count);
        Assert.Equal(4, inFlight.Peak("busy@contoso.com"));
        Assert.All(Enumerable.Range(0, 50), i => Assert.InRange(inFlight.Peak($"user{i}@contoso.com"), 1, 4));
        Assert.True(inFlight.PeakOther("busy@contoso.com") > 4, $"Other mailboxes peaked at {inFlight.PeakOther("busy@contoso.com")} requests at once");
        Assert.InRange(atGraph.Peak("busy@contoso.com"), 1, 4);
    }

    /// <summary>Sends the messages over <paramref name="sessions"/> SMTP sessions at once, each logged in once; the replies in no particular order.</summary>
    private static async Task<string[]> SendInSessionsAsync(int port, IReadOnlyList<MimeMessage> messages, int sessions)
    {
        var batches = messages.Select((message, i) => (message, i)).GroupBy(x => x.i % sessions, x => x.message);
        var replies = await Task.WhenAll(batches.Select(async batch =>
        {
            using var client = new SmtpClient { Timeout = 60_000 };
            await client.ConnectAsync("127.0.0.1", port, SecureSocketOptions.None);
            await client.AuthenticateAsync(RelayStack.Account, RelayStack.Password);
            var answered = new List<string>();
            foreach (var message in batch)
            {
                answered.Add(await client.SendAsync(message));
            }
            await client.DisconnectAsync(quit: true);
            return answered;
        }));
        return [.. replies.SelectMany(r => r)];
    }

    private static string MessageId(byte[] mime) => MimeMessage.Load(new MemoryStream(mime)).MessageId ?? throw new InvalidOperationException("No Message-ID");

    /// <summary>The statuses the fake answered sendMail with, in order.</summary>
    private static int[] SendMailStatuses(FakeMicrosoftCloud cloud) =>
        [.. cloud.Requests.Where(r => r.Path.EndsWith("/sendMail", StringComparison.Ordinal)).Select(r => r.StatusCode)];

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(100);
        }
        Assert.True(condition(), "The condition did not become true within 10 seconds");
    }

    [GeneratedRegex(@"Message (\S+) \(Message-ID [^)]*\) may have been sent")]
    private static partial Regex MayHaveBeenSent();

    /// <summary>Requests in flight per mailbox (case-insensitive), and the most at once.</summary>
    private sealed class InFlight
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<string, int> _now = new(StringComparer.OrdinalIgnoreCase);
        private readonly Dictionary<string, int> _peak = new(StringComparer.OrdinalIgnoreCase);
        private readonly Dictionary<string, int> _peakOther = new(StringComparer.OrdinalIgnoreCase);

        public void Enter(string mailbox)
        {
            lock (_gate)
            {
                var now = _now[mailbox] = _now.GetValueOrDefault(mailbox) + 1;
                _peak[mailbox] = Math.Max(_peak.GetValueOrDefault(mailbox), now);
                foreach (var excluded in _now.Keys)
                {
                    var others = _now.Where(pair => !pair.Key.Equals(excluded, StringComparison.OrdinalIgnoreCase)).Sum(pair => pair.Value);
                    _peakOther[excluded] = Math.Max(_peakOther.GetValueOrDefault(excluded), others);
                }
            }
        }

        public void Leave(string mailbox)
        {
            lock (_gate)
            {
                _now[mailbox]--;
            }
        }

        public int Peak(string mailbox)
        {
            lock (_gate)
            {
                return _peak.GetValueOrDefault(mailbox);
            }
        }

        /// <summary>The most requests in flight at once for every mailbox but this one.</summary>
        public int PeakOther(string mailbox)
        {
            lock (_gate)
            {
                return _peakOther.GetValueOrDefault(mailbox);
            }
        }
    }

    /// <summary>
    /// In Relay.Sender's Graph pipeline: counts sendMail requests in flight per mailbox (from Relay's side, so at least
    /// as many as Graph sees at once) and holds each a little, so that requests overlap as they would against the real
    /// service.
    /// </summary>
    private sealed class InFlightHandler(InFlight inFlight, TimeSpan hold) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var segments = request.RequestUri!.AbsolutePath.Split('/');
            if (segments is not [.., "users", var mailbox, "sendMail"])
            {
                return await base.SendAsync(request, cancellationToken);
            }
            mailbox = Uri.UnescapeDataString(mailbox);
            inFlight.Enter(mailbox);
            try
            {
                await Task.Delay(hold, cancellationToken);
                return await base.SendAsync(request, cancellationToken);
            }
            finally
            {
                inFlight.Leave(mailbox);
            }
        }
    }
}
