using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Relay.Bench.Report;

/// <summary>The machine the figures come from, as the report states it.</summary>
internal sealed record MachineInfo(string Cpu, int Cores, string Memory, string OperatingSystem, string DotNet, string Packages, string LoadAverage)
{
    public static MachineInfo Read() => new(
        FirstValue("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString(),
        Environment.ProcessorCount,
        Gibibytes(FirstValue("/proc/meminfo", "MemTotal")),
        $"{OsRelease()} (kernel {Read("/proc/sys/kernel/osrelease")})",
        RuntimeInformation.FrameworkDescription,
        PackageVersions(),
        CurrentLoadAverage());

    /// <summary>The 1, 5 and 15 minute load averages: a busy machine shows here.</summary>
    public static string CurrentLoadAverage() => string.Join(' ', Read("/proc/loadavg").Split(' ').Take(3));

    private static string? FirstValue(string file, string key) => File.Exists(file)
        ? File.ReadLines(file).Where(line => line.StartsWith(key, StringComparison.Ordinal)).Select(line => line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim()).FirstOrDefault()
        : null;

    /// <summary>MemTotal ("24683620 kB") in GiB.</summary>
    private static string Gibibytes(string? kilobytes) =>
        long.TryParse(kilobytes?.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture, out var kb)
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{kb / 1024.0 / 1024:0.0} GiB")
            : "unknown";

    private static string OsRelease() => File.Exists("/etc/os-release")
        ? File.ReadLines("/etc/os-release").Where(line => line.StartsWith("PRETTY_NAME=", StringComparison.Ordinal)).Select(line => line["PRETTY_NAME=".Length..].Trim('"')).FirstOrDefault() ?? "Linux"
        : RuntimeInformation.OSDescription;

    private static string Read(string file) => File.Exists(file) ? File.ReadAllText(file).Trim() : "unknown";

    /// <summary>The Debian versions of the load generator and the comparison servers.</summary>
    private static string PackageVersions()
    {
        var info = new ProcessStartInfo("dpkg-query") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-W", "-f", "${Package} ${Version}; ", "postfix", "python3-aiosmtpd", "python3" })
        {
            info.ArgumentList.Add(argument);
        }
        try
        {
            using var process = Process.Start(info);
            if (process is null || !process.WaitForExit(10_000))
            {
                return "unknown";
            }
            return process.StandardOutput.ReadToEnd().Trim().TrimEnd(';');
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown (no dpkg-query)";
        }
    }
}
