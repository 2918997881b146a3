using System.Diagnostics;
using System.Globalization;

namespace Relay.Bench.Load;

/// <summary>
/// Postfix's smtp-source: <c>-s</c> sessions in parallel send <c>-m</c> messages of <c>-l</c> payload bytes, one per
/// connection or, with <c>-d</c>, all of a session's over one connection. It measures nothing and sends a fixed count,
/// so the harness times each run and sizes the next run's count from the rate seen so far, running it again until the
/// phase's time is used (a run's start-up, a few milliseconds, is counted against it).
/// </summary>
internal sealed class SmtpSourceLoad : ILoadGenerator
{
    public const string Path = "/usr/sbin/smtp-source";

    /// <summary>Messages per second seen in the last run, per cell: what sizes the next run's count.</summary>
    private readonly Dictionary<Cell, double> _rate = [];

    public async Task<LoadResult> RunAsync(int port, Cell cell, TimeSpan duration, CancellationToken cancellationToken)
    {
        var (messages, seconds) = (0, 0.0);
        do
        {
            // Unknown rate (the cell's first run): two messages per session, enough to see one.
            var count = _rate.TryGetValue(cell, out var rate)
                ? (int)Math.Clamp(rate * (duration.TotalSeconds - seconds), cell.Concurrency, 1_000_000)
                : 2 * cell.Concurrency;
            var (ran, error) = await RunOnceAsync(port, cell, count, cancellationToken);
            if (error is not null)
            {
                // It stops at the first reply it did not expect and does not say how many went through before.
                return new LoadResult(messages, count, seconds + ran, (long)messages * cell.Size, [], error);
            }
            messages += count;
            seconds += ran;
            _rate[cell] = count / ran;
        }
        while (seconds < duration.TotalSeconds);
        return new LoadResult(messages, 0, seconds, (long)messages * cell.Size, [], null);
    }

    private static async Task<(double Seconds, string? Error)> RunOnceAsync(int port, Cell cell, int count, CancellationToken cancellationToken)
    {
        var arguments = new List<string>
        {
            "-s", cell.Concurrency.ToString(CultureInfo.InvariantCulture),
            "-m", count.ToString(CultureInfo.InvariantCulture),
            "-l", cell.Size.ToString(CultureInfo.InvariantCulture),
            "-f", "mailbox0@contoso.com",
            "-t", "rcpt@fabrikam.com",
            "-M", "localhost",
        };
        if (cell.ManyPerConnection)
        {
            arguments.Add("-d");
        }
        arguments.Add($"127.0.0.1:{port}");

        var info = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        arguments.ForEach(info.ArgumentList.Add);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{Path} did not start.");
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        var seconds = clock.Elapsed.TotalSeconds;
        return process.ExitCode == 0
            ? (seconds, null)
            : (seconds, $"smtp-source exit {process.ExitCode}: {((await output) + (await error)).Trim()}");
    }
}
