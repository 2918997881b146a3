using System.Text;
using MimeKit;
using Xunit.Abstractions;

namespace Relay.EndToEnd.Tests.Faults;

/// <summary>
/// Clients that misbehave on the SMTP side: one that trickles its message byte by byte (slow but within the timeouts:
/// delivered), and ones that stop in the middle of DATA (stalled: cut off after <c>Smtp:DataTimeout</c> with 421, their
/// connection slot freed, their message not delivered) while other clients go on sending.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class ClientFaultTests(ITestOutputHelper output)
{
    private static readonly TimeSpan DataTimeout = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task AClientTricklingItsMessageByteByByteWithinTheTimeoutsIsDelivered()
    {
        var settings = Settings(maxConnections: 10);
        // The trickle (some 50 bytes/s) stays above this; at the default 240 bytes/s it would be cut off once the 10 s
        // grace is over, by design (slowloris), and how long the message takes would decide the test.
        settings["Smtp:MinDataRate"] = "10";
        await using var stack = await RelayStack.StartAsync(smtpSettings: settings);
        var ledger = new MessageLedger("slow-client");
        var messages = Enumerable.Range(0, FaultProfile.Pick(1, 5)).Select(_ => ledger.NewMessage("scanner@contoso.com", "alice@fabrikam.com")).ToList();

        await Task.WhenAll(messages.Select(async message =>
        {
            await using var client = await SmtpClients.Raw.ConnectAsync(stack.SmtpPort);
            await BeginDataAsync(client);
            var text = Wire(message);
            for (var i = 0; i < text.Length; i++)
            {
                await client.WriteAsync(text[i..(i + 1)]);
                // Mostly a byte every 10 ms, and once a pause just short of Smtp:DataTimeout.
                await Task.Delay(i == text.Length / 2 ? DataTimeout * 0.7 : TimeSpan.FromMilliseconds(10));
            }
            ledger.Record(message.MessageId!, ToAttempt(await client.SendAsync(".")));
        }));

        var tally = ledger.Settle(MailStores.InPickup(stack.PickupDirectory), output);
        Assert.Equal(messages.Count, tally.Delivered);
    }

    [Fact]
    public async Task ClientsThatStallMidDataAreCutOffTheirSlotsFreedAndTheirMailNotDeliveredWhileOthersSend()
    {
        var stalledCount = FaultProfile.Pick(3, 20);
        // Two slots beyond the stalled clients: while they hold theirs, two others must still get through.
        await using var stack = await RelayStack.StartAsync(smtpSettings: Settings(maxConnections: stalledCount + 2));
        var ledger = new MessageLedger("stalled-clients");

        var stalled = Enumerable.Range(0, stalledCount).Select(async _ =>
        {
            var message = ledger.NewMessage("scanner@contoso.com", "alice@fabrikam.com");
            await using var client = await SmtpClients.Raw.ConnectAsync(stack.SmtpPort);
            await BeginDataAsync(client);
            var text = Wire(message);
            await client.WriteAsync(text[..(text.Length / 2)]);
            // Then nothing: the server must give up on its own.
            var reply = await client.ReadReplyAsync();
            ledger.Record(message.MessageId!, ToAttempt(reply));
            await Assert.ThrowsAsync<IOException>(client.ReadReplyAsync); // and close the connection
        }).ToList();
        var others = Enumerable.Range(0, FaultProfile.Pick(6, 60)).Select(i => ledger.NewMessage($"scanner{i % 4}@contoso.com", "bob@fabrikam.com")).ToList();
        await FaultLoad.SendAsync(stack.SmtpPort, ledger, others, sessions: 2);
        await Task.WhenAll(stalled);

        // As many sessions at once as there were stalled clients: only possible if every stalled slot was given back.
        var afterwards = Enumerable.Range(0, stalledCount).Select(_ => ledger.NewMessage("scanner@contoso.com", "carol@fabrikam.com")).ToList();
        await FaultLoad.SendAsync(stack.SmtpPort, ledger, afterwards, sessions: stalledCount);

        var tally = ledger.Settle(MailStores.InPickup(stack.PickupDirectory), output);
        Assert.Equal(new Dictionary<string, int> { ["421"] = stalledCount }, tally.RejectedBy);
        Assert.Equal(others.Count + afterwards.Count, tally.Delivered);
    }

    private static Dictionary<string, string?> Settings(int maxConnections) => new()
    {
        ["Smtp:DataTimeout"] = DataTimeout.ToString(),
        ["Smtp:MaxConnections"] = maxConnections.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>EHLO, AUTH PLAIN, MAIL, RCPT and DATA, each answered as it should be.</summary>
    private static async Task BeginDataAsync(SmtpClients.Raw client)
    {
        Assert.StartsWith("220", client.Greeting, StringComparison.Ordinal);
        Assert.StartsWith("250", await client.SendAsync("EHLO printer"), StringComparison.Ordinal);
        var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{RelayStack.Account}\0{RelayStack.Password}"));
        Assert.StartsWith("235", await client.SendAsync($"AUTH PLAIN {plain}"), StringComparison.Ordinal);
        Assert.StartsWith("250", await client.SendAsync("MAIL FROM:<scanner@contoso.com>"), StringComparison.Ordinal);
        Assert.StartsWith("250", await client.SendAsync("RCPT TO:<alice@fabrikam.com>"), StringComparison.Ordinal);
        Assert.StartsWith("354", await client.SendAsync("DATA"), StringComparison.Ordinal);
    }

    /// <summary>The message as it goes on the wire in DATA (CRLF line ends, no line starting with a dot), without the final dot.</summary>
    private static string Wire(MimeMessage message)
    {
        using var buffer = new MemoryStream();
        message.WriteTo(new MimeKit.FormatOptions { NewLineFormat = MimeKit.NewLineFormat.Dos }, buffer);
        var text = Encoding.ASCII.GetString(buffer.ToArray());
        Assert.DoesNotContain("\r\n.", text, StringComparison.Ordinal);
        return text.EndsWith("\r\n", StringComparison.Ordinal) ? text : text + "\r\n";
    }

    private static Attempt ToAttempt(string reply) =>
        new(int.Parse(reply.AsSpan(0, 3), System.Globalization.CultureInfo.InvariantCulture), reply);
}
