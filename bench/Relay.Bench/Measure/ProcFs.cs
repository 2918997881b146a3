using System.Globalization;

namespace Relay.Bench.Measure;

/// <summary>
/// What Linux says about a process in /proc: CPU time (utime + stime of /proc/PID/stat), peak resident set size
/// (VmHWM of /proc/PID/status) and its reset (writing 5 to /proc/PID/clear_refs, Linux 4.0+), per-thread CPU time.
/// </summary>
internal static class ProcFs
{
    /// <summary>Clock ticks per second of utime/stime: sysconf(_SC_CLK_TCK), 100 on every Linux that .NET supports.</summary>
    private const double TicksPerSecond = 100;

    /// <summary>User plus system CPU seconds the process (all its threads) has used so far.</summary>
    public static double CpuSeconds(int pid) => CpuTicks(File.ReadAllText($"/proc/{pid}/stat")) / TicksPerSecond;

    /// <summary>The part of <see cref="CpuSeconds"/> spent in the kernel (stime): system calls, file systems, the network stack.</summary>
    public static double KernelCpuSeconds(int pid) => KernelTicks(File.ReadAllText($"/proc/{pid}/stat")) / TicksPerSecond;

    /// <summary>VmHWM: the largest resident set the process has had since it started or since <see cref="TryResetPeakRss"/>.</summary>
    public static long PeakRssBytes(int pid) => StatusKilobytes(pid, "VmHWM:") * 1024;

    /// <summary>VmRSS: the resident set now.</summary>
    public static long RssBytes(int pid) => StatusKilobytes(pid, "VmRSS:") * 1024;

    /// <summary>Resets VmHWM to the current RSS so a cell's peak is its own; false when the kernel or permissions refuse.</summary>
    public static bool TryResetPeakRss(int pid)
    {
        try
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>CPU seconds per thread (keyed by thread id) with the thread's name (comm, at most 15 characters).</summary>
    public static Dictionary<int, (string Name, double CpuSeconds)> ThreadCpu(int pid)
    {
        var threads = new Dictionary<int, (string, double)>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var open = stat.IndexOf('(', StringComparison.Ordinal);
                var close = stat.LastIndexOf(')');
                threads[int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)] = (stat[(open + 1)..close], CpuTicks(stat) / TicksPerSecond);
            }
            catch (IOException)
            {
                // The thread ended between the listing and the read: it has nothing more to count.
            }
        }
        return threads;
    }

    /// <summary>stime: field 15 of /proc/PID/stat.</summary>
    internal static long KernelTicks(string stat) => long.Parse(StatFields(stat)[12], CultureInfo.InvariantCulture);

    /// <summary>utime + stime: fields 14 and 15, counted after the command name, which may itself hold spaces and parentheses.</summary>
    internal static long CpuTicks(string stat)
    {
        var fields = StatFields(stat);
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    /// <summary>The fields after the command name; fields[0] is field 3 (state), so field N is fields[N - 3].</summary>
    private static string[] StatFields(string stat) => stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

    private static long StatusKilobytes(int pid, string key)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }
}
