using System.Text;
using MimeKit;
using Relay.Contracts;
using Relay.Sender.Delivery;
using Relay.Sender.Delivery.Graph;
using Relay.Sender.Identity;

namespace Relay.Sender.Tests.Delivery.Graph;

public sealed class MimeComposerTests
{
    private const string Received = "Received: from printer.lan ([10.0.0.7]) by relay.contoso.com with ESMTPS id Q1; Tue, 3 Mar 2026 10:00:00 +0000\r\n";

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    [Fact]
    public void ReceivedLineComesFirstAndTheOriginalFollowsUnchanged()
    {
        // Odd spacing, a bare LF, 8-bit text and no final CRLF: every byte must survive.
        var original = Bytes("From:  printer@contoso.com\r\nTo: alice@example.com\r\nSubject: Grüße\r\n\r\nline one\nline two ✓");

        var composed = MimeComposer.Compose(Received, [], original, originalHasBcc: false);

        Assert.Equal(Bytes(Received).Concat(original).ToArray(), composed);
    }

    [Fact]
    public void BccFieldFollowsTheReceivedLineOnlyWhenThereAreBlindRecipients()
    {
        var original = Bytes("From: printer@contoso.com\r\nTo: alice@example.com\r\n\r\nbody\r\n");

        var composed = MimeComposer.Compose(Received, ["eve@example.com"], original, originalHasBcc: false);

        Assert.Equal(Bytes(Received + "Bcc: <eve@example.com>\r\n").Concat(original).ToArray(), composed);
    }

    [Fact]
    public void SeveralBlindRecipientsParseAsOneBccField()
    {
        var original = Bytes("From: printer@contoso.com\r\nTo: alice@example.com\r\nSubject: hi\r\n\r\nbody\r\n");

        var composed = MimeComposer.Compose(Received, ["eve@example.com", "zed@example.com", "kim@example.com"], original, false);

        var message = MimeMessage.Load(new MemoryStream(composed));
        Assert.Equal(HeaderId.Received, message.Headers[0].Id);
        Assert.Equal(HeaderId.Bcc, message.Headers[1].Id);
        Assert.Equal(["eve@example.com", "zed@example.com", "kim@example.com"], message.Bcc.Mailboxes.Select(m => m.Address));
        Assert.Equal(["alice@example.com"], message.To.Mailboxes.Select(m => m.Address));
        Assert.Equal("hi", message.Subject);
        Assert.All(Text(composed).Split("\r\n"), line => Assert.True(line.Length <= 998));
        Assert.EndsWith(Text(original), Text(composed));
    }

    [Fact]
    public void ClientsBccFieldIsRemovedWithItsContinuationLinesButABodyLineStartingWithBccStays()
    {
        var original =
            "From: printer@contoso.com\r\n" +
            "BCC: hidden1@example.com,\r\n" +
            " hidden2@example.com,\r\n" +
            "\thidden3@example.com\r\n" +
            "To: alice@example.com\r\n" +
            "bcc : hidden4@example.com\r\n" +
            "Subject: report\r\n" +
            "\r\n" +
            "Bcc: this line is body text\r\n" +
            " and so is this one\r\n";

        var composed = MimeComposer.Compose(Received, ["eve@example.com"], Bytes(original), originalHasBcc: true);

        Assert.Equal(
            Received +
            "Bcc: <eve@example.com>\r\n" +
            "From: printer@contoso.com\r\n" +
            "To: alice@example.com\r\n" +
            "Subject: report\r\n" +
            "\r\n" +
            "Bcc: this line is body text\r\n" +
            " and so is this one\r\n",
            Text(composed));
    }

    [Fact]
    public void ClientsBccFieldIsRemovedEvenWhenNoBlindRecipientsRemain()
    {
        var original = "From: printer@contoso.com\r\nTo: alice@example.com\r\nBcc: alice@example.com\r\n\r\nbody\r\n";

        var composed = MimeComposer.Compose(Received, [], Bytes(original), originalHasBcc: true);

        Assert.Equal(Received + "From: printer@contoso.com\r\nTo: alice@example.com\r\n\r\nbody\r\n", Text(composed));
    }

    [Fact]
    public void BccFieldWithSpacesBeforeTheColonIsRemoved()
    {
        var original = "From: printer@contoso.com\r\nBcc  : eve@example.com\r\nTo: alice@example.com\r\n\r\nbody\r\n";

        var composed = MimeComposer.Compose(Received, [], Bytes(original), originalHasBcc: true);

        Assert.Empty(MimeMessage.Load(new MemoryStream(composed)).Bcc);
    }

    [Fact]
    public void BccFieldWithATabBeforeTheColonIsRemoved()
    {
        var original = "From: printer@contoso.com\r\nBcc\t: eve@example.com\r\nTo: alice@example.com\r\n\r\nbody\r\n";

        var composed = MimeComposer.Compose(Received, [], Bytes(original), originalHasBcc: true);

        Assert.Empty(MimeMessage.Load(new MemoryStream(composed)).Bcc);
    }

    [Fact]
    public void FieldsWhoseNamesMerelyStartWithBccAreKept()
    {
        var original = "From: printer@contoso.com\r\nBcc-Policy: strict\r\nBccx: y\r\nBcc: eve@example.com\r\n\r\nbody\r\n";

        var result = MimeComposer.RemoveHeaderField(Bytes(original), "Bcc");

        Assert.Equal("From: printer@contoso.com\r\nBcc-Policy: strict\r\nBccx: y\r\n\r\nbody\r\n", Text(result));
    }

    [Fact]
    public void BareLineFeedHeaderBlockIsHandledLikeCrlf()
    {
        var original = "From: printer@contoso.com\nBcc: eve@example.com,\n zed@example.com\nTo: alice@example.com\n\nBcc: body\n";

        var result = MimeComposer.RemoveHeaderField(Bytes(original), "Bcc");

        Assert.Equal("From: printer@contoso.com\nTo: alice@example.com\n\nBcc: body\n", Text(result));
    }

    private const string QuotedPrintableMessage =
        "From: printer@contoso.com\r\n" +
        "To: Alice <ALICE@example.com>\r\n" +
        "Bcc: hidden@example.com\r\n" +
        "Content-Type: text/html; charset=utf-8\r\n" +
        "Content-Transfer-Encoding: quoted-printable\r\n" +
        "\r\n" +
        "<p class=3D\"=\r\ncenter\">Gr=C3=BC=C3=9Fe</p>\r\n";

    private static async Task<ComposedMime> ComposeAsync(string message, string[] recipients, GraphOptions? options = null,
        string mailbox = "printer@contoso.com")
    {
        await using var spool = new MessageSpool(Path.GetTempPath(), 1024 * 1024);
        await spool.WriteAsync(Bytes(message), CancellationToken.None);
        var headers = MessageHeaders.Read(spool.Rewind());
        Assert.NotNull(headers);
        var envelope = new Envelope { QueueId = "Q1", MailFrom = "printer@contoso.com", TraceHeader = Received };
        envelope.Recipients.Add(recipients);
        var principal = new RelayPrincipal("printer", LoginKind.RelayAccount, ["*@contoso.com"], Mailbox: null);
        return await MimeComposer.ComposeAsync(new OutboundMessage(envelope, headers, spool, mailbox, principal),
            options ?? new GraphOptions(), CancellationToken.None);
    }

    [Fact]
    public async Task AMessageWithoutQuotedPrintableGoesOutAsReceivedPlusTheOriginalByteForByte()
    {
        var original =
            "From:  printer@contoso.com\r\n" +
            "To: alice@example.com\r\n" +
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n" +
            "\r\n" +
            "preamble\r\n" +
            "--b\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\n" +
            "Content-Transfer-Encoding: 8bit\r\n" +
            "\r\n" +
            "Grüße =3D\r\n" +
            "--b\r\n" +
            "Content-Type: application/pdf\r\n" +
            "Content-Transfer-Encoding: base64\r\n" +
            "\r\n" +
            "JVBERi0xLjQK\r\n" +
            "--b--\r\n" +
            "epilogue\r\n";

        var composed = await ComposeAsync(original, ["alice@example.com"]);

        Assert.Null(composed.Refusal);
        Assert.Equal(0, composed.ReencodedParts);
        Assert.Equal(Bytes(Received + original), composed.Mime);
    }

    [Fact]
    public async Task QuotedPrintableIsReencodedAndTheClientsBccRemovedInOnePass()
    {
        var composed = await ComposeAsync(QuotedPrintableMessage, ["alice@example.com", "eve@example.com"]);

        Assert.Equal(1, composed.ReencodedParts);
        Assert.Equal(
            Received +
            "Bcc: <eve@example.com>\r\n" +
            "From: printer@contoso.com\r\n" +
            "To: Alice <ALICE@example.com>\r\n" +
            "Content-Type: text/html; charset=utf-8\r\n" +
            "Content-Transfer-Encoding: base64\r\n" +
            "\r\n" +
            Convert.ToBase64String(Bytes("<p class=\"center\">Grüße</p>\r\n")) + "\r\n",
            Text(composed.Mime!));
    }

    [Fact]
    public async Task QuotedPrintableStaysWhenReencodingIsTurnedOff()
    {
        var composed = await ComposeAsync(QuotedPrintableMessage, ["alice@example.com"], new GraphOptions { ReencodeQuotedPrintable = false });

        Assert.Equal(0, composed.ReencodedParts);
        Assert.Equal(Bytes(Received + QuotedPrintableMessage.Replace("Bcc: hidden@example.com\r\n", "", StringComparison.Ordinal)), composed.Mime);
    }

    [Fact]
    public async Task QuotedPrintableGoesAsWrittenWhenItsBase64WouldNotFitTheRequest()
    {
        var body = string.Concat(Enumerable.Repeat("=C3=BC", 200)); // 1,200 bytes of QP; 400 bytes decoded, 536 as base64.
        var longer = string.Concat(Enumerable.Repeat("0123456789", 100)); // 1,000 bytes of QP become 1,334+ as base64.
        var message = "From: printer@contoso.com\r\nTo: alice@example.com\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + longer + "\r\n";
        var limit = Received.Length + message.Length + 100;

        var composed = await ComposeAsync(message, ["alice@example.com"], new GraphOptions { MimeSizeLimit = limit });
        var shrinking = await ComposeAsync(message.Replace(longer, body, StringComparison.Ordinal), ["alice@example.com"],
            new GraphOptions { MimeSizeLimit = limit });

        Assert.Equal(0, composed.ReencodedParts);
        Assert.Equal(Bytes(Received + message), composed.Mime);
        Assert.Equal(1, shrinking.ReencodedParts);
    }

    [Fact]
    public async Task AComposedMessageOverTheLimitIs552()
    {
        var message = "From: printer@contoso.com\r\nTo: alice@example.com\r\n\r\n" + new string('x', 900) + "\r\n";

        // The client's message fits; with Relay's Received: and Bcc: fields it does not.
        var composed = await ComposeAsync(message, ["alice@example.com", "eve@example.com"],
            new GraphOptions { MimeSizeLimit = message.Length + 10 });

        Assert.Null(composed.Mime);
        Assert.Equal(552, composed.Refusal!.Code);
        Assert.Equal("5.3.4", composed.Refusal.EnhancedCode);
    }

    [Fact]
    public async Task HeaderOnlyRecipientsAreDeliveredByDefault()
    {
        var message = "From: printer@contoso.com\r\nTo: alice@example.com, bob@example.com\r\n\r\nbody\r\n";

        var composed = await ComposeAsync(message, ["alice@example.com"]);

        Assert.Equal(Bytes(Received + message), composed.Mime);
    }

    [Fact]
    public async Task HeaderOnlyRecipientsAreRefusedWhenConfiguredNamingTheFirst()
    {
        var message =
            "From: printer@contoso.com\r\n" +
            "To: Alice <ALICE@Example.com>, \"Bob B.\" <bob@example.com>\r\n" +
            "Cc: carol@example.com, Team: alice@example.com;\r\n" +
            "\r\nbody\r\n";
        var reject = new GraphOptions { HeaderOnlyRecipients = HeaderOnlyRecipientHandling.Reject };

        var refused = await ComposeAsync(message, ["alice@example.com", "eve@example.com"], reject);
        var allGiven = await ComposeAsync(message, ["alice@example.com", "BOB@example.com", "carol@EXAMPLE.com"], reject);

        Assert.Null(refused.Mime);
        Assert.Equal(550, refused.Refusal!.Code);
        Assert.Equal("5.7.1", refused.Refusal.EnhancedCode);
        Assert.Contains("<bob@example.com>", refused.Refusal.Text, StringComparison.Ordinal);
        Assert.Contains("RCPT TO", refused.Refusal.Text, StringComparison.Ordinal);
        Assert.NotNull(allGiven.Mime);
    }

    [Theory]
    [InlineData("")]
    [InlineData("<>")]
    [InlineData("scanner")]
    public async Task AMailboxThatIsNoAddressNeverReachesGraph(string mailbox)
    {
        var composed = await ComposeAsync("From: printer@contoso.com\r\nTo: alice@example.com\r\n\r\nbody\r\n",
            ["alice@example.com"], mailbox: mailbox);

        Assert.Null(composed.Mime);
        Assert.Equal(553, composed.Refusal!.Code);
        Assert.Equal("5.1.7", composed.Refusal.EnhancedCode);
    }
}
