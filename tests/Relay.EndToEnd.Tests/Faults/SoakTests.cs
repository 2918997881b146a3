using System.Diagnostics;
using System.Globalization;
using Relay.Testing;
using Xunit.Abstractions;

namespace Relay.EndToEnd.Tests.Faults;

/// <summary>
/// Both services as real processes under a moderate, steady load (connections coming and going, as devices do) for a
/// minute in the short form and 30 minutes in the full form, with their resident memory (VmRSS) and open file
/// descriptors sampled from /proc. Every message must be delivered, and nothing may grow without bound.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class SoakTests(ITestOutputHelper output)
{
    /// <summary>
    /// "Flat": after the warm-up, the highest value in the last third of the run may exceed the highest in the first third
    /// by at most this much. The max, not a mean, because the GC lets the heap grow to a budget and then collects: what
    /// matters is that the peaks stop rising. The slack covers a late gen-2 collection and its heap growth.
    /// </summary>
    private const double RssGrowthFactor = 1.25;
    private const long RssSlackBytes = 24L * 1024 * 1024;
    private const int HandleSlack = 16;

    [Fact]
    public async Task UnderASteadyLoadBothServicesDeliverEverythingAndTheirMemoryAndHandlesStayFlat()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // /proc/PID/status and /proc/PID/fd are Linux's.
        }
        var duration = FaultProfile.Pick(TimeSpan.FromSeconds(60), TimeSpan.FromMinutes(30));
        var warmUp = FaultProfile.Pick(TimeSpan.FromSeconds(15), TimeSpan.FromMinutes(3));
        var interval = FaultProfile.Pick(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.GraphLatency = TimeSpan.FromMilliseconds(20);
        await using var relay = await RelayProcesses.StartAsync(cloud, keepOutput: false);
        var ledger = new MessageLedger("soak");
        var mailbox = 0;
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource(duration);

        var samples = new List<Sample>();
        var sampling = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                samples.Add(new Sample(clock.Elapsed, Usage.Of(relay.Sender), Usage.Of(relay.Smtp)));
                await Task.Delay(interval, CancellationToken.None);
            }
        });
        await FaultLoad.SendUntilAsync(relay.SmtpPort, ledger,
            () => ledger.NewMessage($"scanner{Interlocked.Increment(ref mailbox) % 4}@contoso.com", "alice@fabrikam.com"),
            sessions: 2, perConnection: 10, pause: TimeSpan.FromMilliseconds(100), stop.Token);
        await sampling;

        Assert.True(await MailStores.WaitForAsync(() => cloud.SentMail.Count >= ledger.MessageIds.Count, TimeSpan.FromSeconds(10)));
        var tally = ledger.Settle(MailStores.InGraph(cloud), output);
        Assert.Equal(0, tally.Rejected);
        var measured = samples.Where(sample => sample.At >= warmUp).ToList();
        Assert.True(measured.Count >= 9, $"Only {measured.Count} samples after the warm-up");
        AssertFlat("Relay.Sender VmRSS", measured.Select(sample => sample.Sender.RssBytes).ToList(), tally);
        AssertFlat("Relay.Smtp VmRSS", measured.Select(sample => sample.Smtp.RssBytes).ToList(), tally);
        AssertFlat("Relay.Sender open fds", measured.Select(sample => (long)sample.Sender.OpenFiles).ToList(), tally);
        AssertFlat("Relay.Smtp open fds", measured.Select(sample => (long)sample.Smtp.OpenFiles).ToList(), tally);
    }

    private void AssertFlat(string what, IReadOnlyList<long> values, Tally tally)
    {
        var third = values.Count / 3;
        var first = values.Take(third).Max();
        var last = values.Skip(values.Count - third).Max();
        var isMemory = what.Contains("RSS", StringComparison.Ordinal);
        var allowed = isMemory ? (long)(first * RssGrowthFactor) + RssSlackBytes : first + HandleSlack;
        var line = string.Create(CultureInfo.InvariantCulture,
            $"[faults:{FaultProfile.Name}] soak {what}: first-third max {Show(first, isMemory)}, last-third max {Show(last, isMemory)}, allowed {Show(allowed, isMemory)}, range {Show(values.Min(), isMemory)}..{Show(values.Max(), isMemory)} over {values.Count} samples");
        output.WriteLine(line);
        Console.WriteLine(line);
        Assert.True(last <= allowed, $"{line}; {tally}");
    }

    private static string Show(long value, bool bytes) =>
        bytes ? string.Create(CultureInfo.InvariantCulture, $"{value / (1024.0 * 1024):F1} MiB") : value.ToString(CultureInfo.InvariantCulture);

    private sealed record Sample(TimeSpan At, Usage Sender, Usage Smtp);

    /// <summary>What a process holds: resident memory (VmRSS) and open file descriptors (sockets included).</summary>
    private sealed record Usage(long RssBytes, int OpenFiles)
    {
        public static Usage Of(Process process)
        {
            Assert.False(process.HasExited, "A service died during the soak");
            var status = File.ReadAllLines($"/proc/{process.Id}/status");
            // "VmRSS:     123456 kB"
            var rss = status.Single(line => line.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            return new Usage(long.Parse(rss, CultureInfo.InvariantCulture) * 1024, Directory.GetFileSystemEntries($"/proc/{process.Id}/fd").Length);
        }
    }
}
