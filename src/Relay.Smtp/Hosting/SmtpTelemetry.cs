using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Relay.Smtp.Hosting;

/// <summary>
/// The <c>Relay.Smtp</c> activity source and meter (names registered in Relay.ServiceDefaults). Tags are bounded:
/// outcomes, reply classes, reasons and protocol versions — never an address or a login.
/// </summary>
public static class SmtpTelemetry
{
    public const string Name = "Relay.Smtp";

    public static ActivitySource Source { get; } = new(Name);

    private static readonly Meter Meter = new(Name);

    public static UpDownCounter<long> ActiveConnections { get; } =
        Meter.CreateUpDownCounter<long>("relay.smtp.connections.active", "{connection}", "SMTP sessions open now");

    public static Counter<long> Sessions { get; } =
        Meter.CreateCounter<long>("relay.smtp.sessions", "{session}", "SMTP sessions started (admitted connections)");

    public static Counter<long> Messages { get; } =
        Meter.CreateCounter<long>("relay.smtp.messages", "{message}", "Messages answered at the end of DATA/BDAT, by outcome and reply class (2xx, 4xx, 5xx)");

    public static Counter<long> MessageBytes { get; } =
        Meter.CreateCounter<long>("relay.smtp.message.bytes", "By", "Message content received from SMTP clients");

    public static Counter<long> AuthFailures { get; } =
        Meter.CreateCounter<long>("relay.smtp.auth.failures", "{failure}", "Failed AUTH attempts, by reply class");

    public static Counter<long> TlsHandshakes { get; } =
        Meter.CreateCounter<long>("relay.smtp.tls.handshakes", "{handshake}", "TLS handshakes (STARTTLS and implicit), by mode, result and protocol version");

    /// <summary>delivered, deferred (4xx) or rejected (5xx), as Relay.Sender's audit line says it.</summary>
    public static string Outcome(int code) => code switch { < 400 => "delivered", < 500 => "deferred", _ => "rejected" };

    public static string ReplyClass(int code) => $"{code / 100}xx";

    public static void CountMessage(int replyCode) =>
        Messages.Add(1, new KeyValuePair<string, object?>("outcome", Outcome(replyCode)),
            new KeyValuePair<string, object?>("reply_class", ReplyClass(replyCode)));
}
