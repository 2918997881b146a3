using System.Text;
using Google.Protobuf;
using Relay.EndToEnd.Tests.Otlp;
using Relay.EndToEnd.Tests.Otlp.Proto;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// Both services as real processes, with <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> pointing at an OTLP receiver on loopback:
/// what an OpenTelemetry collector or the Aspire dashboard would get, over both OTLP protocols.
/// </summary>
public class OtlpExportTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    // OTLP's Span.SpanKind values (SPAN_KIND_SERVER, SPAN_KIND_CLIENT).
    private const int OtlpServerKind = 2;
    private const int OtlpClientKind = 3;

    [Theory]
    // As Aspire runs them: the executable, with OTEL_SERVICE_NAME set to the resource's name.
    [InlineData("grpc", false)]
    // As systemd runs them, `dotnet Relay.X.dll` without OTEL_SERVICE_NAME: the process is called dotnet for both, and
    // service.name must still say which service.
    [InlineData("http/protobuf", true)]
    public async Task BothServicesExportOneConnectedTraceTheirMetersAndLogsOverOtlp(string protocol, bool asUnderSystemd)
    {
        var (senderName, smtpName) = asUnderSystemd ? ("Relay.Sender", "Relay.Smtp") : ("sender", "smtp");
        await using var receiver = await OtlpReceiver.StartAsync();
        var endpoint = protocol == "grpc" ? receiver.GrpcEndpoint : receiver.HttpEndpoint;
        var senderPort = ExternalTool.FreeLoopbackPort();
        var smtpPort = ExternalTool.FreeLoopbackPort();
        var pickup = Directory.CreateTempSubdirectory("relay-otlp-pickup-");
        var hash = await ProcessTests.HashPasswordAsync(RelayStack.Password);
        var sender = StartService("Relay.Sender", asUnderSystemd, Exporting(protocol, endpoint, asUnderSystemd ? null : senderName, new()
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{senderPort}",
            ["Delivery__PickupDirectory"] = pickup.FullName,
            [$"Identity__Accounts__{RelayStack.Account}__PasswordHash"] = hash,
            [$"Identity__Accounts__{RelayStack.Account}__AllowedSenders__0"] = RelayStack.AllowedSender,
        }));
        var smtp = StartService("Relay.Smtp", asUnderSystemd, Exporting(protocol, endpoint, asUnderSystemd ? null : smtpName, new()
        {
            ["services__sender__http__0"] = $"http://127.0.0.1:{senderPort}",
            ["Smtp__Port"] = smtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }));
        try
        {
            await ExternalTool.WaitForPortAsync(senderPort, Patience);
            await ExternalTool.WaitForPortAsync(smtpPort, Patience);
            var bodyText = $"Body text that must stay out of telemetry {Guid.NewGuid():N}";
            var reply = await SmtpClients.SendWithMailKitAsync(smtpPort,
                SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com", body: bodyText));
            var queueId = reply.Split(' ').Last();

            // Traces: the transaction in Relay.Smtp and the delivery in Relay.Sender are one trace, parent to child
            // across the gRPC hop; the transaction is the trace's root and links to its session's span.
            var transaction = await WaitForAsync(() => receiver.AllSpans().SingleOrDefault(s =>
                s.Item.Name == "smtp.transaction" && Attribute(s.Item.Attributes, "relay.queue_id") == queueId));
            var traceId = transaction.Item.TraceId;
            var deliver = await WaitForAsync(() => receiver.AllSpans().SingleOrDefault(s =>
                s.Item.Name == "relay.deliver" && s.Item.TraceId == traceId));
            Assert.Equal(smtpName, transaction.Service);
            Assert.Equal(senderName, deliver.Service);
            Assert.True(transaction.Item.ParentSpanId.IsEmpty);
            var link = Assert.Single(transaction.Item.Links);
            var session = await WaitForAsync(() => receiver.AllSpans().SingleOrDefault(s =>
                s.Item.Name == "smtp.session" && s.Item.SpanId == link.SpanId));
            Assert.Equal(smtpName, session.Service);
            Assert.Equal(link.TraceId, session.Item.TraceId);
            Assert.NotEqual(traceId, session.Item.TraceId);
            var trace = receiver.AllSpans().Where(s => s.Item.TraceId == traceId).DistinctBy(s => s.Item.SpanId).ToDictionary(s => s.Item.SpanId);
            var chain = Ancestors(deliver.Item, trace).ToList();
            Assert.Equal(transaction.Item.SpanId, chain.Last().Item.SpanId);
            // Between them: Relay.Smtp's gRPC client span, then Relay.Sender's server span.
            Assert.Contains(chain, s => s.Service == smtpName && s.Item.Kind == OtlpClientKind);
            Assert.Contains(chain, s => s.Service == senderName && s.Item.Kind == OtlpServerKind);

            // Metrics: each service's message counter, with this message counted.
            await WaitForAsync(() => DeliveredCount(receiver, smtpName, "relay.smtp.messages") >= 1);
            await WaitForAsync(() => DeliveredCount(receiver, senderName, "relay.sender.messages") >= 1);

            // Logs: both services send theirs; the Sender's audit line carries the message's trace.
            var audit = await WaitForAsync(() => receiver.AllLogs().FirstOrDefault(l => l.Service == senderName
                && l.Item.Body?.StringValue?.Contains($"Message {queueId} delivered", StringComparison.Ordinal) == true));
            Assert.Equal(traceId, audit.Item.TraceId);
            await WaitForAsync(() => receiver.AllLogs().FirstOrDefault(l => l.Service == smtpName));

            // What crossed the wire really was OTLP over the chosen protocol, uncompressed, so scanning its bytes means something.
            var requests = receiver.Requests.ToArray();
            Assert.All(requests, r => Assert.Equal(protocol == "grpc" ? "HTTP/2" : "HTTP/1.1", r.Protocol));
            Assert.All(requests, r => Assert.True(r.ContentEncoding is null or "identity", r.ContentEncoding));
            Assert.Contains(requests, r => Contains(r.Body, Encoding.UTF8.GetBytes(queueId)));
            var secrets = new Dictionary<string, byte[]>
            {
                ["password"] = Encoding.UTF8.GetBytes(RelayStack.Password),
                ["password as AUTH sends it"] = Encoding.UTF8.GetBytes(Convert.ToBase64String(Encoding.UTF8.GetBytes(RelayStack.Password))),
                ["message body"] = Encoding.UTF8.GetBytes(bodyText),
                ["password hash"] = Encoding.UTF8.GetBytes(hash.Split('$').Last()),
            };
            foreach (var (what, bytes) in secrets)
            {
                Assert.False(requests.Any(r => Contains(r.Body, bytes)), $"The {what} was exported.");
            }
        }
        finally
        {
            await ExternalTool.StopAsync(smtp);
            await ExternalTool.StopAsync(sender);
            pickup.Delete(recursive: true);
        }
    }

    private static Dictionary<string, string> Exporting(string protocol, string endpoint, string? serviceName, Dictionary<string, string> environment)
    {
        if (serviceName is not null)
        {
            environment["OTEL_SERVICE_NAME"] = serviceName;
        }
        environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint;
        environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol;
        // Milliseconds: export spans, log records and metrics within moments instead of the default 5 s, 1 s and 60 s.
        environment["OTEL_BSP_SCHEDULE_DELAY"] = "100";
        environment["OTEL_BLRP_SCHEDULE_DELAY"] = "100";
        environment["OTEL_METRIC_EXPORT_INTERVAL"] = "250";
        return environment;
    }

    private static System.Diagnostics.Process StartService(string project, bool throughDotnet, Dictionary<string, string> environment) => throughDotnet
        ? ExternalTool.Start("dotnet", [ProcessTests.ServiceExecutable(project) + ".dll"], ProcessTests.ServiceDirectory(project), environment)
        : ExternalTool.Start(ProcessTests.ServiceExecutable(project), [], ProcessTests.ServiceDirectory(project), environment);

    private static long DeliveredCount(OtlpReceiver receiver, string service, string metric) =>
        receiver.AllMetrics().Where(m => m.Service == service && m.Item.Name == metric && m.Item.Sum is not null)
            .SelectMany(m => m.Item.Sum.DataPoints)
            .Where(p => Attribute(p.Attributes, "outcome") == "delivered")
            .Select(p => p.AsInt).DefaultIfEmpty().Max();

    private static string? Attribute(IEnumerable<KeyValue> attributes, string key) =>
        attributes.FirstOrDefault(a => a.Key == key)?.Value is { } value
            ? value.ValueCase == AnyValue.ValueOneofCase.IntValue ? value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture) : value.StringValue
            : null;

    private static IEnumerable<OtlpReceiver.Received<Span>> Ancestors(Span span, Dictionary<ByteString, OtlpReceiver.Received<Span>> trace)
    {
        for (var parent = span.ParentSpanId; !parent.IsEmpty && trace.TryGetValue(parent, out var next); parent = next.Item.ParentSpanId)
        {
            yield return next;
        }
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    /// <summary>Polls what the receiver has so far until <paramref name="find"/> sees it: exports arrive every few hundred ms.</summary>
    private static Task WaitForAsync(Func<bool> condition) => WaitForAsync(() => condition() ? "" : null);

    private static async Task<T> WaitForAsync<T>(Func<T?> find)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            if (find() is { } found)
            {
                return found;
            }
            Assert.True(DateTime.UtcNow < deadline, "The OTLP receiver did not get it in time.");
            await Task.Delay(100);
        }
    }
}
