using System.Globalization;

namespace Relay.Bench;

internal enum Generator
{
    /// <summary>Postfix's smtp-source: C, no pipelining, times nothing itself (the harness times the whole run).</summary>
    SmtpSource,

    /// <summary>MailKit's SmtpClient, pipelining MAIL/RCPT/DATA when the server offers PIPELINING; times DATA→250.</summary>
    MailKit,
}

internal static class ServerNames
{
    public const string SmtpSink = "smtp-sink";
    public const string Aiosmtpd = "aiosmtpd";
    public const string RelayPickup = "Relay→pickup";
    public const string RelayGraph = "Relay→Graph";
}

/// <summary>One measurement: a load against one server.</summary>
/// <param name="Server">One of <see cref="ServerNames"/>.</param>
/// <param name="Generator">Which client drives it.</param>
/// <param name="Size">Message size in bytes.</param>
/// <param name="Concurrency">Connections in parallel.</param>
/// <param name="ManyPerConnection">Whether a connection sends message after message (else one message, then QUIT).</param>
/// <param name="Mailboxes">How many From: addresses (Graph mailboxes) the messages rotate over.</param>
/// <param name="GraphLatencyMs">The fake Graph's latency for every request.</param>
internal sealed record Cell(string Server, Generator Generator, int Size, int Concurrency, bool ManyPerConnection, int Mailboxes = 1, int GraphLatencyMs = 0)
{
    public const int KiB = 1024;
    public const int MiB = 1024 * 1024;

    public string SizeLabel => Size >= MiB ? $"{Size / MiB} MiB" : $"{Size / KiB} KiB";

    public string Mode => ManyPerConnection ? "many/conn" : "1/conn";

    public string GeneratorLabel => Generator == Generator.SmtpSource ? "smtp-source" : "MailKit";

    /// <summary>The server with its Graph variant, as the tables print it.</summary>
    public string ServerLabel => Server == ServerNames.RelayGraph
        ? string.Create(CultureInfo.InvariantCulture, $"{Server} {GraphLatencyMs} ms, {Mailboxes} mbx")
        : Server;

    /// <summary>The cell in one line, as the console, the report and <c>--only</c> see it.</summary>
    public string Description => $"{ServerLabel}, {GeneratorLabel}, {SizeLabel}, c={Concurrency}, {Mode}";

    /// <summary>The same load, whatever the server: what ratios compare.</summary>
    public (Generator, int, int, bool) Load => (Generator, Size, Concurrency, ManyPerConnection);
}
