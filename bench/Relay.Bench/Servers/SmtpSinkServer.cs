using Relay.Bench.Measure;

namespace Relay.Bench.Servers;

/// <summary>
/// Postfix's smtp-sink: a single-process event loop that answers every command at once and discards the data. What the
/// load generator and this machine can do at best, the ceiling Relay's figures are divided by.
/// </summary>
internal sealed class SmtpSinkServer : IBenchServer
{
    public const string Path = "/usr/sbin/smtp-sink";

    /// <summary>Connections it serves at once (its default is 256); the listen backlog is the same.</summary>
    private const string MaxConnections = "1000";

    private readonly ChildProcess _process;

    private SmtpSinkServer(ChildProcess process, int port)
    {
        _process = process;
        Port = port;
        Processes = [new MeasuredProcess(Name, process.Process)];
    }

    public string Name => ServerNames.SmtpSink;

    public int Port { get; }

    public IReadOnlyList<MeasuredProcess> Processes { get; }

    public static async Task<SmtpSinkServer> StartAsync()
    {
        var port = ChildProcess.FreeLoopbackPort();
        // smtp-sink refuses to run as root without a user to switch to after opening the socket.
        string[] user = Environment.IsPrivilegedProcess ? ["-u", "nobody"] : [];
        var process = ChildProcess.Start(ServerNames.SmtpSink, Path, [.. user, "-m", MaxConnections, $"127.0.0.1:{port}", MaxConnections]);
        await process.WaitForPortAsync(port, TimeSpan.FromSeconds(10));
        return new SmtpSinkServer(process, port);
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
