using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Relay.Sender.Submission;

/// <summary>The <c>Relay.Sender</c> activity source and meter (names registered in Relay.ServiceDefaults).</summary>
public static class SenderTelemetry
{
    public const string Name = "Relay.Sender";

    public static ActivitySource Source { get; } = new(Name);

    private static readonly Meter Meter = new(Name);

    public static Counter<long> Messages { get; } =
        Meter.CreateCounter<long>("relay.sender.messages", "{message}", "Messages by outcome (reply class)");

    public static Counter<long> AuthFailures { get; } =
        Meter.CreateCounter<long>("relay.sender.auth.failures", "{failure}", "Failed SMTP logins");

    public static Counter<long> TokenRequests { get; } =
        Meter.CreateCounter<long>("relay.sender.token.requests", "{request}", "Token requests to Entra ID for SMTP logins, by login kind and outcome");

    public static Counter<long> TokenCacheHits { get; } =
        Meter.CreateCounter<long>("relay.sender.token.cache_hits", "{hit}", "SMTP logins and messages served by a cached token");

    public static Histogram<long> MessageSize { get; } =
        Meter.CreateHistogram<long>("relay.sender.message.size", "By", "Size of submitted messages");

    // Graph: tagged by operation (sendMail, …) and status, never by mailbox (unbounded cardinality).

    public static Counter<long> GraphRetries { get; } =
        Meter.CreateCounter<long>("relay.sender.graph.retries", "{retry}", "Graph requests made again, by operation and the reason (status, network, token)");

    public static Counter<long> GraphThrottled { get; } =
        Meter.CreateCounter<long>("relay.sender.graph.throttled", "{response}", "Graph answers that say slow down (429, 503), by operation and status");

    public static Histogram<double> GraphRequestDuration { get; } =
        Meter.CreateHistogram<double>("relay.sender.graph.request.duration", "s", "One Graph request, token included, by operation and status");

    // In flight per mailbox: never a mailbox label. A distribution of how many of its slots a mailbox had in use when a
    // request got one, the total in flight, and how often a request had to wait for a slot.

    public static Histogram<long> GraphMailboxInFlight { get; } =
        Meter.CreateHistogram<long>("relay.sender.graph.mailbox.in_flight", "{request}",
            "Requests in flight for the request's mailbox (itself included) when it got a slot (Graph:MaxConcurrencyPerMailbox is the ceiling)");

    public static UpDownCounter<long> GraphRequestsInFlight { get; } =
        Meter.CreateUpDownCounter<long>("relay.sender.graph.requests.in_flight", "{request}", "Graph requests holding a mailbox slot now, all mailboxes");

    public static Counter<long> GraphMailboxWaits { get; } =
        Meter.CreateCounter<long>("relay.sender.graph.mailbox.waits", "{request}", "Graph requests that found all of their mailbox's slots taken and waited");
}
