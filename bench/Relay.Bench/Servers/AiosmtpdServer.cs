using Relay.Bench.Measure;

namespace Relay.Bench.Servers;

/// <summary>
/// A null SMTP server in Python: Debian's python3-aiosmtpd with its Sink handler, which accepts every message and keeps
/// nothing. The "simple server" Relay should beat by a wide margin.
/// </summary>
internal sealed class AiosmtpdServer : IBenchServer
{
    /// <summary>Debian's interpreter: a pyenv shim earlier on PATH would not see Debian's python3-aiosmtpd.</summary>
    public const string Python = "/usr/bin/python3";

    private readonly ChildProcess _process;

    private AiosmtpdServer(ChildProcess process, int port)
    {
        _process = process;
        Port = port;
        Processes = [new MeasuredProcess(Name, process.Process)];
    }

    public string Name => ServerNames.Aiosmtpd;

    public int Port { get; }

    public IReadOnlyList<MeasuredProcess> Processes { get; }

    public static async Task<AiosmtpdServer> StartAsync()
    {
        var port = ChildProcess.FreeLoopbackPort();
        // -n: no setuid (it would refuse to run as root otherwise); its default size limit (32 MiB) takes 10 MiB messages.
        var process = ChildProcess.Start(ServerNames.Aiosmtpd, Python, ["-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"]);
        await process.WaitForPortAsync(port, TimeSpan.FromSeconds(20));
        return new AiosmtpdServer(process, port);
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
