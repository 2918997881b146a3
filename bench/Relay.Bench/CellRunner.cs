using Relay.Bench.Load;
using Relay.Bench.Measure;
using Relay.Bench.Servers;

namespace Relay.Bench;

/// <summary>One cell's figures.</summary>
internal sealed record CellResult(Cell Cell, LoadResult Load, ProcessUsage Usage, bool PeakIsExact, Delivered? Delivered)
{
    public double MessagesPerSecond => Load.Seconds > 0 ? Load.Messages / Load.Seconds : 0;

    public double MiBPerSecond => Load.Seconds > 0 ? Load.Bytes / (1024.0 * 1024) / Load.Seconds : 0;

    /// <summary>Server CPU (all its processes, user + system) per accepted message, in milliseconds.</summary>
    public double? CpuMsPerMessage => Load.Messages > 0 ? Usage.CpuSeconds * 1000 / Load.Messages : null;

    public double? P50Ms => Percentiles.Of(Load.DataReplyMs, 50);

    public double? P99Ms => Percentiles.Of(Load.DataReplyMs, 99);

    public double? GraphP50Ms => Delivered is { GraphMilliseconds.Count: > 0 } delivered ? Percentiles.Of(delivered.GraphMilliseconds, 50) : null;

    /// <summary>What Relay adds to Graph's time: p50 DATA→250 minus the fake Graph's p50 (its latency and its own work).</summary>
    public double? AddedP50Ms => P50Ms is { } total && GraphP50Ms is { } graph ? total - graph : null;

    /// <summary>What went wrong, if anything: refusals, or a server that answered 250 more often than it delivered.</summary>
    public string? Problem
    {
        get
        {
            var problems = new List<string>();
            if (Load.Failures > 0)
            {
                problems.Add($"{Load.Failures} failed: {Load.Error}");
            }
            if (Cell.Generator == Generator.MailKit && Load.DataReplyMs.Count < Load.Messages)
            {
                problems.Add($"DATA→250 timed for only {Load.DataReplyMs.Count} of {Load.Messages} messages");
            }
            if (Delivered is { } delivered && delivered.Messages != Load.Messages)
            {
                problems.Add($"{Load.Messages} answered 250 but {delivered.Messages} delivered");
            }
            return problems.Count > 0 ? string.Join("; ", problems) : null;
        }
    }
}

/// <summary>Runs a cell: warm-up (not measured), then the measured phase with the server's processes metered.</summary>
internal sealed class CellRunner(BenchSettings settings)
{
    private readonly SmtpSourceLoad _smtpSource = new();
    private readonly MailKitLoad _mailKit = new();

    /// <summary>
    /// Before a server's first cell: rounds of small messages, one and many per connection, until the JIT is quiet — the
    /// services' tiered-compilation thread (".NET Tiered Com") used under 2 % of their CPU in the last round — or
    /// <see cref="BenchSettings.ServerWarmUpLimit"/> has passed. A .NET service keeps recompiling hot paths (tier 0, then
    /// instrumented, then optimised) for many seconds after start; a production relay runs for weeks, so cells measure
    /// the steady state. Servers that are not .NET have no such thread and are warm after one round.
    /// </summary>
    public async Task<TimeSpan> WarmUpServerAsync(IBenchServer server)
    {
        using var limit = new CancellationTokenSource(settings.CellLimit);
        var cell = new Cell(server.Name, Generator.MailKit, Cell.KiB, 10, ManyPerConnection: true, Mailboxes: 10);
        server.Prepare(cell);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var round = 0;
        while (true)
        {
            var before = JitAndTotalCpu(server);
            await _mailKit.RunAsync(server.Port, cell with { ManyPerConnection = round++ % 2 == 0 }, settings.ServerWarmUp, limit.Token);
            var after = JitAndTotalCpu(server);
            var total = after.Total - before.Total;
            var quiet = total <= 0 || (after.Jit - before.Jit) < 0.02 * total;
            if (quiet || started.Elapsed >= settings.ServerWarmUpLimit)
            {
                break;
            }
        }
        server.Forget();
        return started.Elapsed;
    }

    private const string JitThreadName = ".NET Tiered Com";

    private static (double Jit, double Total) JitAndTotalCpu(IBenchServer server)
    {
        double jit = 0, total = 0;
        foreach (var process in server.Processes)
        {
            foreach (var (name, cpu) in ProcFs.ThreadCpu(process.Process.Id).Values)
            {
                total += cpu;
                jit += name.StartsWith(JitThreadName, StringComparison.Ordinal) ? cpu : 0;
            }
        }
        return (jit, total);
    }

    public async Task<CellResult> RunAsync(IBenchServer server, Cell cell)
    {
        using var limit = new CancellationTokenSource(settings.CellLimit);
        ILoadGenerator load = cell.Generator == Generator.SmtpSource ? _smtpSource : _mailKit;
        server.Prepare(cell);
        // Large messages warm up on at most 10 connections: the code paths are warm after a few, and 50 × 10 MiB
        // would cost as long as the measurement itself.
        var warmUp = cell.Size >= Cell.MiB ? cell with { Concurrency = Math.Min(cell.Concurrency, 10) } : cell;
        await load.RunAsync(server.Port, warmUp, settings.WarmUp, limit.Token);
        server.Forget();

        var meter = ProcessMeter.Start(server.Processes, settings.Profile);
        LoadResult result;
        try
        {
            result = await load.RunAsync(server.Port, cell, settings.Measure, limit.Token);
        }
        catch (OperationCanceledException)
        {
            // Over the cell's limit: the caller reports it as not measured; stop metering and forget what got through.
            await meter.StopAsync();
            server.Forget();
            throw;
        }
        var usage = await meter.StopAsync();
        var delivered = server.Delivered();
        server.Forget();
        return new CellResult(cell, result, usage, meter.PeakIsExact, delivered);
    }
}
