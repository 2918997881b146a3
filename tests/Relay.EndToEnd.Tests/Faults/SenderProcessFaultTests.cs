using System.Collections.Concurrent;
using MimeKit;
using Relay.Testing;
using Xunit.Abstractions;

namespace Relay.EndToEnd.Tests.Faults;

/// <summary>
/// Relay.Sender, a real process, killed (SIGKILL, whole tree) while messages are in flight at every stage: in the SMTP
/// conversation, streaming over gRPC, waiting for Graph. Relay.Smtp (a real process too) must answer 4xx or drop the
/// connection, never 250, for mail that was not delivered; and it must recover once the Sender is back, without a restart.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class SenderProcessFaultTests(ITestOutputHelper output)
{
    /// <summary>How long the fake Graph takes to accept each message: long enough that messages are in flight at the kill.</summary>
    private static readonly TimeSpan GraphLatency = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task KillingTheSenderMidTransactionNeverAnswers250ForMailThatWasNotDelivered()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // SSL_CERT_FILE is how the Sender process trusts the fake cloud; elsewhere there is no per-process trust.
        }
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var relay = await RelayProcesses.StartAsync(cloud);
        var run = new KillRun(cloud, relay, "sender-killed");

        await run.KillUnderLoadAsync();

        var tally = run.Ledger.Settle(MailStores.InGraph(cloud), output, run.ReachedGraphBeforeTheKill);
        Assert.True(tally.Rejected > 0, $"The kill hit no message in flight: {tally}");
        Assert.All(tally.RejectedBy.Keys, kind => Assert.True(kind is "dropped" || kind.StartsWith('4'), $"A killed Sender must mean 4xx or a drop, not {kind}: {tally}"));
        Assert.False(relay.Smtp.HasExited, "Relay.Smtp died with the Sender");
    }

    [Fact]
    public async Task AfterTheSenderRestartsOnTheSamePortRelaySmtpDeliversAgainWithoutARestart()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var relay = await RelayProcesses.StartAsync(cloud);
        var smtpProcessId = relay.Smtp.Id;
        var run = new KillRun(cloud, relay, "sender-restarted");
        await run.KillUnderLoadAsync();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await relay.StartSenderAsync();
        output.WriteLine($"Relay.Sender listening again after {clock.Elapsed.TotalSeconds:F1} s");
        // What a client does after a 4xx: send again. Then new mail, all through the same Relay.Smtp process.
        await FaultLoad.ResendRefusedAsync(relay.SmtpPort, run.Ledger, run.Sent, sessions: 4);
        output.WriteLine($"Refused messages resent after {clock.Elapsed.TotalSeconds:F1} s");
        await FaultLoad.SendAsync(relay.SmtpPort, run.Ledger, run.NewMessages(FaultProfile.Pick(8, 100)), sessions: 4);
        output.WriteLine($"New messages sent after {clock.Elapsed.TotalSeconds:F1} s");

        var tally = run.Ledger.Settle(MailStores.InGraph(cloud), output, run.ReachedGraphBeforeTheKill);
        Assert.Equal(0, tally.Rejected);
        Assert.Equal(smtpProcessId, relay.Smtp.Id);
        Assert.False(relay.Smtp.HasExited, "Relay.Smtp was restarted or died");
    }

    /// <summary>One load with a kill in the middle of it, and what reached Graph before the kill.</summary>
    private sealed class KillRun(FakeMicrosoftCloud cloud, RelayProcesses relay, string scenario)
    {
        private readonly ConcurrentDictionary<string, DateTimeOffset> _reachedGraph = new(StringComparer.Ordinal);
        private DateTimeOffset _killedAt = DateTimeOffset.MaxValue;

        public MessageLedger Ledger { get; } = new(scenario);
        public ConcurrentDictionary<string, MimeMessage> Sent { get; } = new(StringComparer.Ordinal);

        /// <summary>
        /// The evidence that a refused message may have been sent: its sendMail reached Graph before the Sender was dead,
        /// and Graph accepts what it received whether or not the caller is still there to hear the 202.
        /// </summary>
        public bool ReachedGraphBeforeTheKill(string messageId) =>
            _reachedGraph.TryGetValue(messageId, out var at) && at < _killedAt;

        /// <summary>Messages from four mailboxes (so up to 16 Graph requests in flight), entered in the ledger.</summary>
        public IEnumerable<MimeMessage> NewMessages(int count) => Enumerable.Range(0, count).Select(i =>
        {
            var message = Ledger.NewMessage($"scanner{i % 4}@contoso.com", "alice@fabrikam.com");
            Sent[message.MessageId!] = message;
            return message;
        }).ToList();

        public async Task KillUnderLoadAsync()
        {
            cloud.SendMailFault = request =>
            {
                _reachedGraph.TryAdd(MailStores.MessageId(request.Mime!) ?? "?", DateTimeOffset.UtcNow);
                return GraphFault.Stall(GraphLatency);
            };
            // One message through before the fault: the wiring works, so what follows is the kill's doing.
            await FaultLoad.SendAsync(relay.SmtpPort, Ledger, NewMessages(1), sessions: 1);
            Assert.True(Ledger.Latest().Values.Single().Accepted, string.Join("\n", relay.Output));

            var load = FaultLoad.SendAsync(relay.SmtpPort, Ledger, NewMessages(FaultProfile.Pick(24, 300)), sessions: FaultProfile.Pick(8, 16));
            var inFlight = await MailStores.WaitForAsync(() => _reachedGraph.Count >= 4 || load.IsCompleted, TimeSpan.FromSeconds(60));
            Assert.True(inFlight && !load.IsCompleted, "The load finished before any message was in flight at Graph");
            await relay.KillSenderAsync();
            // Only once the process is dead can nothing more reach Graph from it: requests sent while it was being killed count.
            _killedAt = DateTimeOffset.UtcNow;
            await load;

            // Graph finishes what it received; wait for it, so the store is complete before the accounting.
            var settled = await MailStores.WaitForAsync(() => cloud.SentMail.Count >= _reachedGraph.Count, GraphLatency + TimeSpan.FromSeconds(30));
            Assert.True(settled, $"Graph accepted {cloud.SentMail.Count} of the {_reachedGraph.Count} requests it received");
            cloud.SendMailFault = null; // Graph answers at once again: what follows is about Relay.Smtp and the Sender only
        }
    }
}
