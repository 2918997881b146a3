using MimeKit;
using Xunit.Abstractions;

namespace Relay.EndToEnd.Tests.Faults;

/// <summary>
/// The disk fills up under Relay.Sender: its spool (message bodies over <c>Delivery:MemoryThreshold</c>) or its pickup
/// folder. A full disk is temporary, so the client hears <c>452 4.3.1</c> (insufficient system storage), nothing
/// half-written stays behind, and once there is room again the same messages go through.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class DiskFullFaultTests(ITestOutputHelper output)
{
    /// <summary>Room left on the full disk: less than one message, so each one fails part-way through writing.</summary>
    private const int LeftFree = 16 * 1024;

    /// <summary>The tmpfs: once freed, it must hold every message of the batch (pickup files stay).</summary>
    private static readonly string DiskSize = FaultProfile.Pick("512k", "4m");

    [RootOnlyFact("a full disk is a small tmpfs mounted for the test")]
    public async Task WhenTheSpoolDiskIsFullMessagesGet452AndNothingIsDeliveredUntilThereIsRoom()
    {
        await using var disk = await TmpfsMount.MountAsync(DiskSize);
        await using var stack = await RelayStack.StartAsync(senderSettings: new Dictionary<string, string?>
        {
            ["Delivery:SpoolDirectory"] = disk.Path,
            ["Delivery:MemoryThreshold"] = "0", // every body goes through the spool
        });

        var tally = await FillSendFreeResendAsync(disk, stack.SmtpPort, "spool-disk-full", () => MailStores.InPickup(stack.PickupDirectory));

        Assert.Empty(disk.Files()); // spool files are deleted on every path
        Assert.Contains(stack.Logs, line => line.Contains("could not be spooled", StringComparison.Ordinal) && line.Contains("452 4.3.1", StringComparison.Ordinal));
        Assert.Equal(0, tally.Rejected);
    }

    [RootOnlyFact("a full disk is a small tmpfs mounted for the test")]
    public async Task WhenThePickupDiskIsFullMessagesGet452AndNoHalfWrittenFileStays()
    {
        await using var disk = await TmpfsMount.MountAsync(DiskSize);
        await using var stack = await RelayStack.StartAsync(senderSettings: new Dictionary<string, string?>
        {
            ["Delivery:PickupDirectory"] = disk.Path,
        });

        var tally = await FillSendFreeResendAsync(disk, stack.SmtpPort, "pickup-disk-full", () => MailStores.InPickup(disk.Path));

        Assert.All(disk.Files(), name => Assert.EndsWith(".eml", name, StringComparison.Ordinal));
        Assert.Contains(stack.Logs, line => line.Contains("could not be written to the pickup directory", StringComparison.Ordinal) && line.Contains("452 4.3.1", StringComparison.Ordinal));
        Assert.Equal(0, tally.Rejected);
    }

    /// <summary>
    /// One message while there is room, then the disk is filled and a batch is refused (accounted for as 452 and not
    /// delivered), then the disk is freed and the batch sent again, as clients do after a 4xx: all delivered once.
    /// </summary>
    private async Task<Tally> FillSendFreeResendAsync(TmpfsMount disk, int smtpPort, string scenario, Func<IEnumerable<string?>> delivered)
    {
        var ledger = new MessageLedger(scenario);
        // Some 43 KB each: more than what is left free, in lines within SMTP's 1000-octet limit.
        var body = string.Join("\r\n", Enumerable.Repeat(new string('x', 70), 600));
        await FaultLoad.SendAsync(smtpPort, ledger, [ledger.NewMessage("scanner@contoso.com", "alice@fabrikam.com", body)], sessions: 1);
        Assert.True(ledger.Latest().Values.Single().Accepted, "The first message, with room on the disk, was not accepted");

        disk.Fill(LeftFree);
        var batch = Enumerable.Range(0, FaultProfile.Pick(4, 40)).Select(_ => ledger.NewMessage("scanner@contoso.com", "alice@fabrikam.com", body)).ToList();
        await FaultLoad.SendAsync(smtpPort, ledger, batch, sessions: 2);
        var full = ledger.Settle(delivered(), output);
        Assert.Equal(new Dictionary<string, int> { ["452"] = batch.Count }, full.RejectedBy);
        Assert.All(batch, message => Assert.Contains("4.3.1", ledger.Latest()[message.MessageId!].Reply, StringComparison.Ordinal));

        disk.Free();
        await FaultLoad.ResendRefusedAsync(smtpPort, ledger, batch.ToDictionary(message => message.MessageId!), sessions: 2);
        return ledger.Settle(delivered(), output);
    }
}
