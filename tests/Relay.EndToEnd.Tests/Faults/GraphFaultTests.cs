using System.Diagnostics;
using MimeKit;
using Relay.Testing;
using Xunit.Abstractions;

namespace Relay.EndToEnd.Tests.Faults;

/// <summary>
/// Microsoft 365 misbehaving under load: storms of 429s and 5xx, a 30-second stall, the token endpoint down. Relay
/// (both services in-process, real sockets) must deliver what it can within <c>Graph:RetryBudget</c> and answer 4xx for
/// the rest; every message is accounted for.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class GraphFaultTests(ITestOutputHelper output)
{
    [Fact]
    public Task AStormOf429sEndsWithEveryMessageDeliveredOrDeferredWithinTheBudget() =>
        StormAsync("graph-429-storm", () => GraphFault.Throttled(TimeSpan.FromSeconds(1)), 429);

    [Fact]
    public Task AStormOf5xxEndsWithEveryMessageDeliveredOrDeferredWithinTheBudget()
    {
        var random = new Random(7);
        // Mostly what Graph says when it did nothing (retried), sometimes a 504 (not retried: it may have been sent).
        return StormAsync("graph-5xx-storm", () =>
        {
            lock (random)
            {
                return random.Next(10) switch
                {
                    < 4 => GraphFault.ServiceUnavailable(),
                    < 8 => GraphFault.InternalServerError(),
                    _ => GraphFault.GatewayTimeout(),
                };
            }
        }, 500, 503, 504);
    }

    /// <summary>
    /// Graph takes 30 s to answer, longer than <c>Graph:RequestTimeout</c>: the client hears 451 in time, Relay logs that
    /// the message may have been sent, and Graph does send it when the stall ends. The client sends again (a 4xx leaves
    /// the message with it) and the copy is the accepted price: the ledger allows it only for messages Relay logged.
    /// </summary>
    [Fact]
    public async Task AGraphStallOf30SecondsIsAnswered451InTimeAndEveryMessageIsAccountedFor()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, new Dictionary<string, string?> { ["Graph:RequestTimeout"] = "00:00:10" });
        var stall = TimeSpan.FromSeconds(30);
        cloud.SendMailFault = _ => GraphFault.Stall(stall);
        var ledger = new MessageLedger("graph-stall");
        var stalled = Messages(ledger, FaultProfile.Pick(3, 20));

        await FaultLoad.SendAsync(stack.SmtpPort, ledger, stalled, sessions: stalled.Count);
        Assert.All(ledger.Latest().Values, attempt => Assert.StartsWith("451", $"{attempt.Code} {attempt.Reply}", StringComparison.Ordinal));
        // The stall ends and Graph carries out what it was asked; then Graph is well again.
        Assert.True(await MailStores.WaitForAsync(() => cloud.SentMail.Count == stalled.Count, stall + TimeSpan.FromSeconds(30)),
            $"Graph accepted {cloud.SentMail.Count} of {stalled.Count} stalled messages");
        cloud.SendMailFault = null;
        await FaultLoad.ResendRefusedAsync(stack.SmtpPort, ledger, stalled.ToDictionary(message => message.MessageId!), sessions: 4);
        await FaultLoad.SendAsync(stack.SmtpPort, ledger, Messages(ledger, FaultProfile.Pick(5, 50)), sessions: 4);

        var tally = ledger.Settle(MailStores.InGraph(cloud), output, RelayLoggedMayHaveBeenSent(stack));
        Assert.Equal(0, tally.Rejected);
        Assert.Equal(stalled.Count, tally.ResentDuplicates);
    }

    [Fact]
    public async Task WhileTheTokenEndpointIsDownEveryMessageIsDeferredAndNoneSentThenAllGoOut()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.TokenEndpointUnavailable = true;
        await using var stack = await RelayStack.StartAsync(cloud);
        var ledger = new MessageLedger("token-endpoint-down");
        var messages = Messages(ledger, FaultProfile.Pick(6, 60));

        await FaultLoad.SendAsync(stack.SmtpPort, ledger, messages, sessions: 6);
        var outage = ledger.Settle(MailStores.InGraph(cloud), output);
        Assert.Equal(["454"], outage.RejectedBy.Keys);
        Assert.Equal(messages.Count, outage.Rejected);
        Assert.True(cloud.TokenRequestCount > 0, "Relay never asked Entra for a token");

        cloud.TokenEndpointUnavailable = false;
        await FaultLoad.ResendRefusedAsync(stack.SmtpPort, ledger, messages.ToDictionary(message => message.MessageId!), sessions: 6);

        var recovered = ledger.Settle(MailStores.InGraph(cloud), output);
        Assert.Equal(messages.Count, recovered.Delivered);
    }

    /// <summary>
    /// Every Graph request fails with what <paramref name="fault"/> makes for a while (5 s, or 90 s in the full form)
    /// while clients send: each message ends delivered or deferred with a 4xx, and the storm really happened.
    /// </summary>
    private async Task StormAsync(string scenario, Func<GraphFault> fault, params int[] stormStatuses)
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, StormSettings());
        var storm = Stopwatch.StartNew();
        var length = FaultProfile.Pick(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(90));
        cloud.GraphFault = _ => storm.Elapsed < length ? fault() : null;
        var ledger = new MessageLedger(scenario);

        await FaultLoad.SendAsync(stack.SmtpPort, ledger, Messages(ledger, FaultProfile.Pick(30, 400)), sessions: 10);

        var tally = ledger.Settle(MailStores.InGraph(cloud), output);
        Assert.Contains(cloud.Requests, request => stormStatuses.Contains(request.StatusCode));
        Assert.All(tally.RejectedBy.Keys, kind => Assert.True(kind.StartsWith('4'), $"Graph being busy must mean 4xx, not {kind}: {tally}"));
    }

    /// <summary>Quick backoff without Retry-After; the budget stays the default (3 minutes) in the short form.</summary>
    private static Dictionary<string, string?> StormSettings() => new()
    {
        ["Graph:RetryBaseDelay"] = "00:00:00.200",
        ["Graph:RetryBudget"] = FaultProfile.Pick("00:03:00", "00:01:00"),
    };

    /// <summary>Messages from four mailboxes, so Outlook's four-per-mailbox limit is not the only thing in play.</summary>
    private static List<MimeMessage> Messages(MessageLedger ledger, int count) =>
        [.. Enumerable.Range(0, count).Select(i => ledger.NewMessage($"scanner{i % 4}@contoso.com", "alice@fabrikam.com"))];

    /// <summary>Evidence for "may have been sent": Relay's own warning naming the message.</summary>
    private static Func<string, bool> RelayLoggedMayHaveBeenSent(RelayStack stack) => messageId =>
        stack.Logs.Any(line => line.Contains("may have been sent", StringComparison.Ordinal) && line.Contains(messageId, StringComparison.Ordinal));
}
