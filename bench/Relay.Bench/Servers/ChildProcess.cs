using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Relay.Bench.Servers;

/// <summary>Starts and stops the processes the harness measures, keeping their last output lines for error messages.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private const int KeptLines = 100;

    /// <summary>Every server process still running, so that an interrupted harness (Ctrl+C, SIGTERM) leaves none behind.</summary>
    private static readonly ConcurrentDictionary<int, Process> Running = new();

    private readonly ConcurrentQueue<string> _output = new();

    static ChildProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillRunning();
        Console.CancelKeyPress += (_, _) => KillRunning();
    }

    private ChildProcess(string name, Process process)
    {
        Name = name;
        Process = process;
    }

    public string Name { get; }

    public Process Process { get; }

    /// <summary>The last lines it wrote to stdout and stderr.</summary>
    public string RecentOutput => string.Join(Environment.NewLine, _output);

    public static ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, IDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException($"{fileName} did not start.");
        Running[process.Id] = process;
        var child = new ChildProcess(name, process);
        process.OutputDataReceived += (_, line) => child.Keep(line.Data);
        process.ErrorDataReceived += (_, line) => child.Keep(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits until the process accepts connections on the loopback port; fails with its output if it exits or takes too long.</summary>
    public async Task WaitForPortAsync(int port, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (Process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {Process.ExitCode} before listening on port {port}:{Environment.NewLine}{RecentOutput}");
            }
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
            catch (SocketException ex)
            {
                throw new TimeoutException($"{Name} did not listen on port {port} within {timeout.TotalSeconds:0} s:{Environment.NewLine}{RecentOutput}", ex);
            }
        }
    }

    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        Running.TryRemove(Process.Id, out _);
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            await Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        Process.Dispose();
    }

    private static void KillRunning()
    {
        foreach (var process in Running.Values)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It has exited already.
            }
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }
        _output.Enqueue(line);
        while (_output.Count > KeptLines && _output.TryDequeue(out _))
        {
        }
    }
}
