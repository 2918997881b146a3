using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using MailKit.Net.Smtp;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// One message through SMTP, gRPC and the fake Graph makes one trace, joinable with the audit line by queue id; the
/// meters move. Activity listeners and meters are process-wide, so other tests running alongside add spans and
/// measurements too: spans are picked by this message's trace id, and counters are asserted as "at least".
/// </summary>
public class TelemetryEndToEndTests
{
    [Fact]
    public async Task OneMessageIsOneTraceFromTheSmtpTransactionToEveryGraphRequest()
    {
        var smtpSpans = new List<Activity>();
        var senderSpans = new List<Activity>();
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud,
            configureSmtp: b => b.Services.AddOpenTelemetry().WithTracing(t => t.AddInMemoryExporter(smtpSpans)),
            configureSender: b => b.Services.AddOpenTelemetry().WithTracing(t => t.AddInMemoryExporter(senderSpans)));

        var response = await SmtpClients.SendWithMailKitAsync(stack.SmtpPort,
            SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com"), recipients: ["alice@fabrikam.com", "bob@fabrikam.com"]);
        var queueId = response.Split(' ').Last();

        var transaction = await WaitForAsync(() => Snapshot(smtpSpans).SingleOrDefault(s =>
            s.OperationName == "smtp.transaction" && (string?)s.GetTagItem("relay.queue_id") == queueId));
        var traceId = transaction.TraceId;
        var deliver = await WaitForAsync(() => Snapshot(senderSpans).SingleOrDefault(s =>
            s.OperationName == "relay.deliver" && s.TraceId == traceId));
        var trace = Snapshot(smtpSpans).Concat(Snapshot(senderSpans)).Where(s => s.TraceId == traceId)
            .DistinctBy(s => s.SpanId).ToDictionary(s => s.SpanId);

        // The transaction is the root of the message's trace, linked to (not under) its session.
        Assert.Equal(default, transaction.ParentSpanId);
        var session = Assert.Single(transaction.Links);
        Assert.Contains(Snapshot(smtpSpans), s => s.OperationName == "smtp.session" && s.Context.SpanId == session.Context.SpanId);
        Assert.NotEqual(traceId, session.Context.TraceId);

        // Across the gRPC hop, relay.deliver and every Graph request and token lookup descend from the transaction.
        Assert.Contains(transaction.SpanId, Ancestors(deliver, trace));
        Assert.Equal(queueId, deliver.GetTagItem("relay.queue_id"));
        var send = Assert.Single(trace.Values, s => s.OperationName == "graph sendMail");
        Assert.Contains(deliver.SpanId, Ancestors(send, trace));
        var attempt = Assert.Single(trace.Values, s => s.OperationName == "graph sendMail attempt");
        Assert.Equal(send.SpanId, attempt.ParentSpanId);
        Assert.Equal("success", attempt.GetTagItem("relay.graph.status"));
        Assert.Contains(trace.Values, s => s.OperationName == "relay.token" && Ancestors(s, trace).Contains(attempt.SpanId));
        // The HttpClient span of the request itself, with its status, under the attempt.
        Assert.Contains(trace.Values, s => s.Kind == ActivityKind.Client && s.GetTagItem("http.response.status_code") is 202
            && Ancestors(s, trace).Contains(attempt.SpanId));

        // Attributes: semantic-convention names, counts, and nothing personal beyond the sender's domain.
        Assert.Equal("127.0.0.1", transaction.GetTagItem("client.address"));
        Assert.Equal("smtp", transaction.GetTagItem("network.protocol.name"));
        Assert.Equal("account", transaction.GetTagItem("relay.auth.kind"));
        Assert.Equal(2, transaction.GetTagItem("relay.recipients"));
        Assert.Equal("contoso.com", transaction.GetTagItem("relay.sender.domain"));
        Assert.Equal("delivered", transaction.GetTagItem("relay.outcome"));
        Assert.Equal(250, transaction.GetTagItem("smtp.reply.code"));
        Assert.True((long)transaction.GetTagItem("relay.message.size")! > 0);
        // Leaving out the fake cloud's own server spans: it is an ASP.NET Core host in this process, and the real Graph's
        // spans never reach Relay's exporter.
        var relaySpans = trace.Values.Where(s => s.Source.Name != "Microsoft.AspNetCore"
            || (s.GetTagItem("url.path") as string)?.Contains("MailSubmission", StringComparison.Ordinal) == true);
        var everyTag = relaySpans.SelectMany(s => s.TagObjects.Select(t => $"{s.Source.Name} {s.OperationName} {t.Key}={t.Value}")).ToList();
        foreach (var personal in new[] { "alice@fabrikam.com", "bob@fabrikam.com", "scanner@contoso.com", RelayStack.Password, RelayStack.GraphClientSecret })
        {
            Assert.DoesNotContain(everyTag, value => Uri.UnescapeDataString(value).Contains(personal, StringComparison.OrdinalIgnoreCase));
        }
        Assert.Contains(everyTag, value => value.EndsWith("url.full=" + cloud.GraphBaseUrl.TrimEnd('/') + "/users/{id}/sendMail", StringComparison.Ordinal));
        // The audit line carries the same queue id: trace and log join on it.
        Assert.Contains(stack.Logs, line => line.Contains($"Message {queueId} delivered", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARetriedGraphRequestShowsBothAttemptsAndTheRetryInTheMessagesTrace()
    {
        var spans = new List<Activity>();
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, new Dictionary<string, string?> { ["Graph:RetryBaseDelay"] = "00:00:00.100" },
            configureSender: b => b.Services.AddOpenTelemetry().WithTracing(t => t.AddInMemoryExporter(spans)));
        cloud.SendMailFault = request => request.Attempt == 1 ? GraphFault.ServiceUnavailable() : null;

        var response = await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com"));
        var queueId = response.Split(' ').Last();

        var deliver = await WaitForAsync(() => Snapshot(spans).SingleOrDefault(s =>
            s.OperationName == "relay.deliver" && (string?)s.GetTagItem("relay.queue_id") == queueId));
        var trace = Snapshot(spans).Where(s => s.TraceId == deliver.TraceId).DistinctBy(s => s.SpanId).ToDictionary(s => s.SpanId);
        var send = Assert.Single(trace.Values, s => s.OperationName == "graph sendMail");
        Assert.Equal(deliver.SpanId, send.ParentSpanId);
        var attempts = trace.Values.Where(s => s.OperationName == "graph sendMail attempt").OrderBy(s => s.StartTimeUtc).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts, a => Assert.Equal(send.SpanId, a.ParentSpanId));
        Assert.Equal(503, attempts[0].GetTagItem("http.response.status_code"));
        Assert.Equal(ActivityStatusCode.Error, attempts[0].Status);
        Assert.Equal("success", attempts[1].GetTagItem("relay.graph.status"));
        var retry = Assert.Single(send.Events, e => e.Name == "graph.retry");
        Assert.Equal("503", retry.Tags.Single(t => t.Key == "relay.graph.retry.reason").Value);
        Assert.Equal(2, send.GetTagItem("relay.graph.attempts"));
    }

    [Fact]
    public async Task AMailboxLoginsTokenLookupIsInTheMessagesTraceServedFromTheCacheFilledAtAuth()
    {
        const string user = MailboxLoginEndToEndTests.User;
        var spans = new List<Activity>();
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.RegisterApp(RelayStack.GraphTenantId, RelayStack.GraphClientId, RelayStack.GraphClientSecret);
        cloud.RegisterUser(RelayStack.GraphTenantId, user, MailboxLoginEndToEndTests.UserPassword, UserSignInBlock.None);
        await using var stack = await RelayStack.StartAsync(cloud, new Dictionary<string, string?> { ["Identity:MailboxLogins:Enabled"] = "true" },
            configureSender: b => b.Services.AddOpenTelemetry().WithTracing(t => t.AddInMemoryExporter(spans)));

        var response = await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message($"Alice <{user}>", "bob@example.com"),
            user: user, password: MailboxLoginEndToEndTests.UserPassword);
        var queueId = response.Split(' ').Last();

        var deliver = await WaitForAsync(() => Snapshot(spans).SingleOrDefault(s =>
            s.OperationName == "relay.deliver" && (string?)s.GetTagItem("relay.queue_id") == queueId));
        var trace = Snapshot(spans).Where(s => s.TraceId == deliver.TraceId).DistinctBy(s => s.SpanId).ToDictionary(s => s.SpanId);
        var tokens = trace.Values.Where(s => s.OperationName == "relay.token" && Ancestors(s, trace).Contains(deliver.SpanId)).ToList();
        Assert.NotEmpty(tokens);
        Assert.All(tokens, t => Assert.Equal("login", t.GetTagItem("relay.token.credential")));
        // AUTH signed the user in; the message's lookups are cache hits, so no Entra round trip is in its trace.
        Assert.DoesNotContain(tokens, t => t.Events.Any(e => e.Name == "token.acquire"));
        Assert.Equal(1, cloud.TokenRequestCountFor(user));
        var everyTag = trace.Values.SelectMany(s => s.TagObjects).Select(t => Uri.UnescapeDataString(t.Value?.ToString() ?? string.Empty));
        Assert.DoesNotContain(everyTag, value => value.Contains(MailboxLoginEndToEndTests.UserPassword, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AMessageOverStartTlsCarriesTheTlsVersionAndTheHandshakeIsCounted()
    {
        using var measurements = new Measurements("Relay.Smtp");
        var spans = new List<Activity>();
        await using var stack = await RelayStack.StartAsync(tls: true,
            configureSmtp: b => b.Services.AddOpenTelemetry().WithTracing(t => t.AddInMemoryExporter(spans)));

        await SmtpClients.HandshakeAsync(stack.SmtpPort, MailKit.Security.SecureSocketOptions.StartTls, send: true);

        var session = await WaitForAsync(() => Snapshot(spans).SingleOrDefault(s =>
            s.OperationName == "smtp.session" && s.GetTagItem("server.port") is int port && port == stack.SmtpPort));
        var transaction = Assert.Single(Snapshot(spans), s => s.OperationName == "smtp.transaction" && s.Links.Any(l => l.Context.SpanId == session.SpanId));
        Assert.StartsWith("TLSv1.", (string?)transaction.GetTagItem("tls.protocol.version"), StringComparison.Ordinal);
        Assert.Equal(transaction.GetTagItem("tls.protocol.version"), session.GetTagItem("tls.protocol.version"));
        Assert.Equal("account", session.GetTagItem("relay.auth.kind"));
        Assert.True(measurements.Sum("relay.smtp.tls.handshakes", ("mode", "starttls"), ("result", "succeeded")) >= 1);
    }

    [Fact]
    public async Task MessagesAuthFailuresAndGraphDurationsAreMeasured()
    {
        using var measurements = new Measurements("Relay.Smtp", "Relay.Sender");
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud);

        await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com"));
        using (var client = new SmtpClient())
        {
            await client.ConnectAsync("127.0.0.1", stack.SmtpPort, MailKit.Security.SecureSocketOptions.None);
            await Assert.ThrowsAsync<MailKit.Security.AuthenticationException>(() => client.AuthenticateAsync(RelayStack.Account, "not-the-password"));
        }

        Assert.True(measurements.Sum("relay.smtp.messages", ("outcome", "delivered"), ("reply_class", "2xx")) >= 1);
        Assert.True(measurements.Sum("relay.sender.messages", ("outcome", "delivered")) >= 1);
        Assert.True(measurements.Sum("relay.smtp.message.bytes") > 0);
        Assert.True(measurements.Sum("relay.smtp.sessions") >= 2);
        Assert.True(measurements.Sum("relay.smtp.auth.failures", ("reply_class", "5xx")) >= 1);
        Assert.True(measurements.Sum("relay.sender.auth.failures") >= 1);
        Assert.True(measurements.Count("relay.sender.graph.request.duration", ("operation", "sendMail"), ("status", "success")) >= 1);
        Assert.True(measurements.Count("relay.sender.graph.mailbox.in_flight") >= 1);
        // No counter is labelled by mailbox or address.
        Assert.DoesNotContain(measurements.TagKeys, key => key.Contains("mailbox", StringComparison.OrdinalIgnoreCase) || key.Contains("address", StringComparison.OrdinalIgnoreCase));
    }

    private static List<Activity> Snapshot(List<Activity> spans)
    {
        lock (spans)
        {
            return [.. spans];
        }
    }

    private static IEnumerable<ActivitySpanId> Ancestors(Activity span, Dictionary<ActivitySpanId, Activity> trace)
    {
        var parent = span.ParentSpanId;
        while (parent != default)
        {
            yield return parent;
            parent = trace.TryGetValue(parent, out var next) ? next.ParentSpanId : default;
        }
    }

    private static async Task<T> WaitForAsync<T>(Func<T?> find) where T : class
    {
        // Spans are exported when they end, which can be a moment after the client has its reply.
        for (var i = 0; i < 100; i++)
        {
            if (find() is { } found)
            {
                return found;
            }
            await Task.Delay(50);
        }
        return find() ?? throw new Xunit.Sdk.XunitException("The span was never exported");
    }

    /// <summary>Every measurement of the named meters while it lives.</summary>
    private sealed class Measurements : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> _seen = new();

        public Measurements(params string[] meters)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (meters.Contains(instrument.Meter.Name))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => _seen.Enqueue((i.Name, v, tags.ToArray())));
            _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => _seen.Enqueue((i.Name, v, tags.ToArray())));
            _listener.Start();
        }

        public IEnumerable<string> TagKeys => _seen.SelectMany(m => m.Tags).Select(t => t.Key).Distinct();

        public double Sum(string instrument, params (string Key, string Value)[] tags) => Matching(instrument, tags).Sum(m => m.Value);

        public int Count(string instrument, params (string Key, string Value)[] tags) => Matching(instrument, tags).Count();

        public void Dispose() => _listener.Dispose();

        private IEnumerable<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> Matching(string instrument, (string Key, string Value)[] tags) =>
            _seen.Where(m => m.Instrument == instrument
                && tags.All(t => m.Tags.Any(kv => kv.Key == t.Key && kv.Value?.ToString() == t.Value)));
    }
}
