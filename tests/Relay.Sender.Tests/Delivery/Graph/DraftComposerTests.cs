using System.Text;
using Microsoft.Graph.Models;
using MimeKit;
using Relay.Sender.Delivery.Graph;

namespace Relay.Sender.Tests.Delivery.Graph;

public sealed class DraftComposerTests
{
    private const string Mailbox = "scanner@contoso.com";

    private static MimeMessage Parse(string text) => MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(text.ReplaceLineEndings("\r\n"))));

    private static DraftPlan Compose(string text, params string[] blind) => DraftComposer.Compose(Parse(text), blind, Mailbox);

    private static (string?, string?)[] Addresses(IEnumerable<Recipient>? recipients) =>
        [.. (recipients ?? []).Select(r => (r.EmailAddress?.Address, r.EmailAddress?.Name))];

    [Fact]
    public void RecipientsKeepTheirDisplayNamesAndFromAndReplyToAreMapped()
    {
        var plan = Compose("""
            From: "Printer 7" <scanner@contoso.com>
            To: "Some One" <someone@example.com>, plain@example.com
            Cc: =?utf-8?q?J=C3=BCrgen?= <juergen@example.com>
            Reply-To: Help Desk <helpdesk@contoso.com>
            Subject: =?iso-8859-1?q?Gr=FC=DFe?=

            Hello
            """);

        Assert.Equal("Grüße", plan.Message.Subject);
        Assert.Equal([("someone@example.com", "Some One"), ("plain@example.com", null)], Addresses(plan.Message.ToRecipients));
        Assert.Equal([("juergen@example.com", "Jürgen")], Addresses(plan.Message.CcRecipients));
        Assert.Equal([("helpdesk@contoso.com", "Help Desk")], Addresses(plan.Message.ReplyTo));
        Assert.Equal(("scanner@contoso.com", "Printer 7"), (plan.Message.From?.EmailAddress?.Address, plan.Message.From?.EmailAddress?.Name));
        Assert.Equal((BodyType.Text, "Hello"), (plan.Message.Body?.ContentType, plan.Message.Body?.Content?.TrimEnd()));
        Assert.Null(plan.Message.InternetMessageHeaders);
        Assert.Empty(plan.Attachments);
        Assert.Empty(plan.Lost);
    }

    [Fact]
    public void BccIsTheEnvelopeOnlyRecipientsNamedFromTheClientsOwnBccField()
    {
        var plan = Compose("""
            From: scanner@contoso.com
            To: someone@example.com
            Bcc: "Hidden Person" <hidden@example.com>, not-in-envelope@example.com

            Hello
            """, "hidden@example.com", "audit@example.com");

        Assert.Equal([("hidden@example.com", "Hidden Person"), ("audit@example.com", null)], Addresses(plan.Message.BccRecipients));
    }

    [Fact]
    public void AMessageWithoutFromIsFromTheMailbox()
    {
        var plan = Compose("""
            To: someone@example.com

            Hello
            """);

        Assert.Equal(Mailbox, plan.Message.From?.EmailAddress?.Address);
    }

    [Fact]
    public void OnlyTheFirstFiveXHeadersAreKeptAndTheRestAreReportedLost()
    {
        var plan = Compose("""
            From: scanner@contoso.com
            To: someone@example.com
            X-One: 1
            Keywords: not an x header
            X-Two: 2
            x-three: 3
            X-Empty:
            X-Four: 4
            X-Five: five,
             folded
            X-Six: 6
            X-Seven: 7

            Hello
            """);

        Assert.Equal([("X-One", "1"), ("X-Two", "2"), ("x-three", "3"), ("X-Four", "4"), ("X-Five", "five, folded")],
            plan.Message.InternetMessageHeaders!.Select(h => (h.Name, h.Value)));
        Assert.Contains(plan.Lost, lost => lost.Contains("2 X- header fields", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Importance: high", Importance.High)]
    [InlineData("Importance: low", Importance.Low)]
    [InlineData("Importance: normal\r\nX-Priority: 1", Importance.Normal)]
    [InlineData("X-Priority: 1 (Highest)", Importance.High)]
    [InlineData("X-Priority: 2", Importance.High)]
    [InlineData("X-Priority: 3", Importance.Normal)]
    [InlineData("X-Priority: 5 (Lowest)", Importance.Low)]
    [InlineData("Priority: urgent", Importance.High)]
    [InlineData("Priority: non-urgent", Importance.Low)]
    [InlineData("X-Other: none", Importance.Normal)]
    public void ImportanceComesFromImportanceThenXPriorityThenPriority(string header, Importance expected)
    {
        var plan = Compose($"From: scanner@contoso.com\r\nTo: someone@example.com\r\n{header}\r\n\r\nHello\r\n");

        Assert.Equal(expected, plan.Message.Importance);
    }

    [Fact]
    public void TheHtmlBodyWinsItsTextAlternativeIsLostAndInlineImagesKeepTheirContentIds()
    {
        var plan = Compose("""
            From: scanner@contoso.com
            To: someone@example.com
            Disposition-Notification-To: scanner@contoso.com
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="m"

            --m
            Content-Type: multipart/related; boundary="r"

            --r
            Content-Type: multipart/alternative; boundary="a"

            --a
            Content-Type: text/plain; charset=utf-8

            Scan attached.
            --a
            Content-Type: text/html; charset=utf-8

            <p>Scan attached.</p><img src="cid:logo@relay">
            --a--
            --r
            Content-Type: image/png
            Content-ID: <logo@relay>
            Content-Transfer-Encoding: base64

            iVBORw0KGgo=
            --r--
            --m
            Content-Type: application/pdf; name="ignored.pdf"
            Content-Disposition: attachment; filename*=utf-8''%C3%9A%C4%8Dtenka%20%C4%8D.%207.pdf
            Content-ID: <not-inline@relay>
            Content-Transfer-Encoding: base64

            JVBERi0=
            --m
            Content-Type: text/plain

            A second text part, not the body.
            --m--
            """);

        Assert.Equal(BodyType.Html, plan.Message.Body?.ContentType);
        Assert.Contains("<img src=\"cid:logo@relay\">", plan.Message.Body?.Content, StringComparison.Ordinal);
        Assert.True(plan.Message.IsReadReceiptRequested);
        Assert.Contains(plan.Lost, lost => lost.Contains("text/plain alternative", StringComparison.Ordinal));
        Assert.Equal(
            [("attachment1.png", "image/png", true, "logo@relay"), ("Účtenka č. 7.pdf", "application/pdf", false, "not-inline@relay"), ("attachment3.txt", "text/plain", false, null)],
            plan.Attachments.Select(a => (a.Name, a.ContentType, a.IsInline, a.ContentId)));
        using var logo = plan.Attachments[0].OpenContent();
        using var decoded = new MemoryStream();
        logo.CopyTo(decoded);
        Assert.Equal(Convert.FromBase64String("iVBORw0KGgo="), decoded.ToArray());
    }

    [Theory]
    [InlineData("multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b", true)]
    [InlineData("application/pkcs7-mime; smime-type=enveloped-data", true)]
    [InlineData("multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b", true)]
    [InlineData("multipart/mixed; boundary=b", false)]
    public void SignedAndEncryptedMessagesAreRecognised(string contentType, bool expected)
    {
        var message = Parse($"From: scanner@contoso.com\r\nMIME-Version: 1.0\r\nContent-Type: {contentType}\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n");

        Assert.Equal(expected, GraphUploadDelivery.IsSignedOrEncrypted(message.Body));
    }
}
