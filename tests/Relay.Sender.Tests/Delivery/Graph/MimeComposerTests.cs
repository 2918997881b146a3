using System.Text;
using MimeKit;
using Relay.Sender.Delivery.Graph;

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
}
