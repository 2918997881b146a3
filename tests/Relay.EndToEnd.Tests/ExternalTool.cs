using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Relay.EndToEnd.Tests;

/// <summary>Runs the real clients and services a user runs, with bounded waits, and cleans up after them.</summary>
internal static class ExternalTool
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
    }

    public static async Task<Result> RunAsync(string fileName, IEnumerable<string> arguments, string? input = null, TimeSpan? timeout = null)
    {
        var info = StartInfo(fileName, arguments);
        info.RedirectStandardInput = true;
        using var process = StartOrExplain(info);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
        }
        process.StandardInput.Close();
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} did not finish in time.");
        }
        return new Result(process.ExitCode, await output, await error);
    }

    /// <summary>Starts a long-running process; the caller kills it with <see cref="StopAsync"/>.</summary>
    /// <param name="output">Receives each line the process writes to stdout or stderr, when given.</param>
    public static Process Start(string fileName, IEnumerable<string> arguments, string workingDirectory, IDictionary<string, string> environment,
        System.Collections.Concurrent.ConcurrentQueue<string>? output = null)
    {
        var info = StartInfo(fileName, arguments);
        info.WorkingDirectory = workingDirectory;
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }
        var process = StartOrExplain(info);
        process.OutputDataReceived += (_, line) => Keep(output, line.Data);
        process.ErrorDataReceived += (_, line) => Keep(output, line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>
    /// Starts a service that should stop by itself at start-up (a configuration error) and waits for it, at most
    /// <paramref name="timeout"/>; returns its exit code and every line it wrote.
    /// </summary>
    public static async Task<(int ExitCode, string[] Output)> RunUntilExitAsync(string fileName, string workingDirectory,
        IDictionary<string, string> environment, TimeSpan timeout)
    {
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var process = Start(fileName, [], workingDirectory, environment, output);
        try
        {
            using var limit = new CancellationTokenSource(timeout);
            await process.WaitForExitAsync(limit.Token);
            return (process.ExitCode, output.ToArray());
        }
        finally
        {
            await StopAsync(process);
        }
    }

    private static void Keep(System.Collections.Concurrent.ConcurrentQueue<string>? output, string? line)
    {
        if (output is not null && line is not null)
        {
            output.Enqueue(line);
        }
    }

    public static async Task StopAsync(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        process.Dispose();
    }

    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Waits until something accepts connections on the port (at most <paramref name="timeout"/>).</summary>
    public static async Task WaitForPortAsync(int port, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    private static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        return info;
    }

    private static Process StartOrExplain(ProcessStartInfo info)
    {
        try
        {
            return Process.Start(info) ?? throw new InvalidOperationException($"{info.FileName} did not start.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException(
                $"'{info.FileName}' is not installed. The interop tests drive real clients: apt-get install swaks libnet-ssleay-perl python3 curl postfix (see .ci/run).", ex);
        }
    }
}
