using Relay.Bench.Measure;

namespace Relay.Bench.Servers;

/// <summary>
/// A server Relay is measured against: one process that accepts every message and keeps nothing.
/// <list type="bullet">
/// <item>Postfix's smtp-sink: a C event loop that answers every command at once, the ceiling of a load on this machine.</item>
/// <item>A null aiosmtpd server (Debian's python3-aiosmtpd, Sink handler): the simple server Relay should beat.</item>
/// </list>
/// </summary>
internal sealed class ReferenceServer : IBenchServer
{
    public const string SmtpSinkPath = "/usr/sbin/smtp-sink";

    /// <summary>Debian's interpreter: a pyenv shim earlier on PATH would not see Debian's python3-aiosmtpd.</summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>Connections smtp-sink serves at once (its default is 256), and its listen backlog.</summary>
    private const string SmtpSinkConnections = "1000";

    private readonly ChildProcess _process;

    private ReferenceServer(string name, ChildProcess process, int port)
    {
        Name = name;
        _process = process;
        Port = port;
        Processes = [new MeasuredProcess(name, process.Process)];
    }

    public string Name { get; }

    public int Port { get; }

    public IReadOnlyList<MeasuredProcess> Processes { get; }

    public static Task<ReferenceServer> StartSmtpSinkAsync() => StartAsync(ServerNames.SmtpSink, SmtpSinkPath, port =>
        // smtp-sink refuses to run as root without a user to switch to after opening the socket.
        [.. Environment.IsPrivilegedProcess ? new[] { "-u", "nobody" } : [], "-m", SmtpSinkConnections, $"127.0.0.1:{port}", SmtpSinkConnections]);

    public static Task<ReferenceServer> StartAiosmtpdAsync() => StartAsync(ServerNames.Aiosmtpd, Python, port =>
        // -n: no setuid (it would refuse to run as root otherwise); its default size limit (32 MiB) takes 10 MiB messages.
        ["-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"]);

    private static async Task<ReferenceServer> StartAsync(string name, string fileName, Func<int, string[]> arguments)
    {
        var port = ChildProcess.FreeLoopbackPort();
        var process = ChildProcess.Start(name, fileName, arguments(port));
        try
        {
            await process.WaitForPortAsync(port, TimeSpan.FromSeconds(20));
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
        return new ReferenceServer(name, process, port);
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
