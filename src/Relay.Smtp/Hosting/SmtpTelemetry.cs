using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Relay.Smtp.Hosting;

/// <summary>The <c>Relay.Smtp</c> activity source and meter (names registered in Relay.ServiceDefaults).</summary>
public static class SmtpTelemetry
{
    public const string Name = "Relay.Smtp";

    public static ActivitySource Source { get; } = new(Name);

    private static readonly Meter Meter = new(Name);

    public static UpDownCounter<long> ActiveConnections { get; } =
        Meter.CreateUpDownCounter<long>("relay.smtp.connections.active", "{connection}", "SMTP sessions open now");
}
