using System.Diagnostics;

namespace Relay.Bench.Measure;

/// <summary>A process a cell measures, under the name the report gives it (Relay.Smtp, Relay.Sender, smtp-sink, …).</summary>
internal sealed record MeasuredProcess(string Role, Process Process);

/// <summary>CPU time a group of threads with one name used during a cell.</summary>
internal sealed record ThreadUsage(string Role, string ThreadName, int Threads, double CpuSeconds);

/// <summary>What the server processes used during one cell.</summary>
internal sealed record ProcessUsage(double CpuSeconds, IReadOnlyDictionary<string, long> PeakRssBytes, IReadOnlyList<ThreadUsage> Threads)
{
    /// <summary>With profiling on: each process's CPU seconds, and how many of them were spent in the kernel.</summary>
    public IReadOnlyDictionary<string, (double Cpu, double Kernel)> ByRole { get; init; } = new Dictionary<string, (double, double)>();
}

/// <summary>
/// Measures the server processes over one cell: CPU seconds (utime + stime) and each process's peak RSS. The peak is
/// VmHWM after resetting it at the start; where the kernel refuses the reset, a 50 ms VmRSS sampler stands in (it can
/// miss a short spike, so the report says which was used). With profiling on, also CPU per thread name.
/// </summary>
internal sealed class ProcessMeter
{
    private static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(50);

    private readonly IReadOnlyList<MeasuredProcess> _processes;
    private readonly bool _profile;
    private readonly Dictionary<int, double> _cpuAtStart = [];
    private readonly Dictionary<int, double> _kernelAtStart = [];
    private readonly Dictionary<int, long> _sampledPeak = [];
    private readonly Dictionary<int, Dictionary<int, (string Name, double CpuSeconds)>> _threadsAtStart = [];
    private readonly CancellationTokenSource _stop = new();
    private Task _sampler = Task.CompletedTask;

    private ProcessMeter(IReadOnlyList<MeasuredProcess> processes, bool profile)
    {
        _processes = processes;
        _profile = profile;
    }

    /// <summary>Whether every peak came from VmHWM (true) or some from sampling.</summary>
    public bool PeakIsExact { get; private set; } = true;

    public static ProcessMeter Start(IReadOnlyList<MeasuredProcess> processes, bool profile)
    {
        var meter = new ProcessMeter(processes, profile);
        foreach (var (_, process) in processes)
        {
            meter.PeakIsExact &= ProcFs.TryResetPeakRss(process.Id);
            meter._cpuAtStart[process.Id] = ProcFs.CpuSeconds(process.Id);
            meter._kernelAtStart[process.Id] = ProcFs.KernelCpuSeconds(process.Id);
            meter._sampledPeak[process.Id] = ProcFs.RssBytes(process.Id);
            if (profile)
            {
                meter._threadsAtStart[process.Id] = ProcFs.ThreadCpu(process.Id);
            }
        }
        meter._sampler = meter.SampleAsync(meter._stop.Token);
        return meter;
    }

    public async Task<ProcessUsage> StopAsync()
    {
        await _stop.CancelAsync();
        await _sampler;
        var cpu = 0.0;
        var peaks = new Dictionary<string, long>();
        var threads = new List<ThreadUsage>();
        var byRole = new Dictionary<string, (double, double)>();
        foreach (var (role, process) in _processes)
        {
            var used = ProcFs.CpuSeconds(process.Id) - _cpuAtStart[process.Id];
            cpu += used;
            byRole[role] = (used, ProcFs.KernelCpuSeconds(process.Id) - _kernelAtStart[process.Id]);
            peaks[role] = PeakIsExact ? ProcFs.PeakRssBytes(process.Id) : Math.Max(_sampledPeak[process.Id], ProcFs.RssBytes(process.Id));
            if (_profile)
            {
                threads.AddRange(ThreadsSince(role, _threadsAtStart[process.Id], ProcFs.ThreadCpu(process.Id)));
            }
        }
        _stop.Dispose();
        return new ProcessUsage(cpu, peaks, threads) { ByRole = byRole };
    }

    private async Task SampleAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(SampleInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                foreach (var (_, process) in _processes)
                {
                    _sampledPeak[process.Id] = Math.Max(_sampledPeak[process.Id], ProcFs.RssBytes(process.Id));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The cell is over.
        }
    }

    /// <summary>CPU per thread name between two snapshots; threads born during the cell count from zero.</summary>
    private static IEnumerable<ThreadUsage> ThreadsSince(string role, Dictionary<int, (string Name, double CpuSeconds)> before, Dictionary<int, (string Name, double CpuSeconds)> after) =>
        after.Select(thread => (thread.Value.Name, Used: thread.Value.CpuSeconds - (before.TryGetValue(thread.Key, out var start) ? start.CpuSeconds : 0)))
            .Where(thread => thread.Used > 0)
            .GroupBy(thread => thread.Name)
            .Select(group => new ThreadUsage(role, group.Key, group.Count(), group.Sum(thread => thread.Used)))
            .OrderByDescending(usage => usage.CpuSeconds);
}
