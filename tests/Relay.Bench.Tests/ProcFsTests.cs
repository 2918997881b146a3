using Relay.Bench.Measure;

namespace Relay.Bench.Tests;

public class ProcFsTests
{
    [Fact]
    public void CpuTicksAreUtimePlusStimeCountedAfterTheLastParenthesisOfTheName()
    {
        // Fields 14 (utime) and 15 (stime); a thread name may hold spaces and parentheses.
        const string stat = "4242 (odd) name (x)) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 12 0 100 1000 200";

        Assert.Equal(300, ProcFs.CpuTicks(stat));
        Assert.Equal(50, ProcFs.KernelTicks(stat));
    }

    [Fact]
    public void ThePeakResidentSetOfThisProcessIsReadAndCanBeReset()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // /proc is Linux's.
        }
        var pid = Environment.ProcessId;

        Assert.True(ProcFs.TryResetPeakRss(pid));
        var peak = ProcFs.PeakRssBytes(pid);
        var now = ProcFs.RssBytes(pid);

        Assert.True(now > 0);
        // Just reset, the peak is about what is resident now, not the test host's earlier high-water mark.
        Assert.True(peak >= now / 2 && peak <= now * 2, $"peak {peak}, now {now}");
        Assert.Contains(ProcFs.ThreadCpu(pid), thread => thread.Key == pid);
    }
}
