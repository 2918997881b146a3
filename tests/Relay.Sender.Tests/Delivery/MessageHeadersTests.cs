using System.Text;
using Relay.Sender.Delivery;

namespace Relay.Sender.Tests.Delivery;

public sealed class MessageHeadersTests
{
    private static MessageHeaders Read(string message)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(message));
        var headers = MessageHeaders.Read(stream);
        Assert.NotNull(headers);
        return headers;
    }

    [Fact]
    public void DisplayNameAddressesYieldTheirAddressesOnly()
    {
        var headers = Read(
            "From: \"Printer, Floor 2\" <printer@contoso.com>\r\n" +
            "To: Alice <alice@example.com>, bob@example.com\r\n" +
            "Cc: Carol Jones <carol@example.com>\r\n" +
            "Subject: scan\r\n\r\nbody\r\n");

        Assert.Equal(["printer@contoso.com"], headers.From);
        Assert.Equal(["alice@example.com", "bob@example.com"], headers.To);
        Assert.Equal(["carol@example.com"], headers.Cc);
    }

    [Fact]
    public void GroupsYieldTheirMembersAndEmptyGroupsYieldNothing()
    {
        var headers = Read(
            "From: printer@contoso.com\r\n" +
            "To: Team: alice@example.com, Bob <bob@example.com>;, dave@example.com\r\n" +
            "Cc: undisclosed-recipients:;\r\n\r\nbody\r\n");

        Assert.Equal(["alice@example.com", "bob@example.com", "dave@example.com"], headers.To);
        Assert.Empty(headers.Cc);
    }

    [Fact]
    public void EncodedWordDisplayNamesAreDecodedWithoutSplittingTheAddressList()
    {
        var headers = Read(
            "From: =?UTF-8?B?w4lsb2RpZSBEdXBvbnQ=?= <elodie@contoso.com>\r\n" +
            "To: =?UTF-8?Q?Doe=2C_John?= <john@example.com>, =?ISO-8859-1?Q?J=F6rg?= <jorg@example.com>\r\n\r\nbody\r\n");

        Assert.Equal(["elodie@contoso.com"], headers.From);
        Assert.Equal(["john@example.com", "jorg@example.com"], headers.To);
    }

    [Fact]
    public void FoldedAndRepeatedFieldsAreAllRead()
    {
        var headers = Read(
            "From: printer@contoso.com\r\n" +
            "To: alice@example.com,\r\n\tbob@example.com\r\n" +
            "To: carol@example.com\r\n\r\nbody\r\n");

        Assert.Equal(["alice@example.com", "bob@example.com", "carol@example.com"], headers.To);
    }

    [Fact]
    public void OnlyTheHeaderBlockIsRead()
    {
        var headers = Read(
            "From: printer@contoso.com\r\nTo: alice@example.com\r\n\r\n" +
            "From: ceo@fabrikam.com\r\nTo: mallory@example.com\r\nBcc: eve@example.com\r\n");

        Assert.Equal(["printer@contoso.com"], headers.From);
        Assert.Equal(["alice@example.com"], headers.To);
        Assert.False(headers.HasBcc);
    }

    [Fact]
    public void BccFieldIsNoticed()
    {
        Assert.True(Read("From: printer@contoso.com\r\nBcc: eve@example.com\r\n\r\nbody\r\n").HasBcc);
        Assert.True(Read("From: printer@contoso.com\r\nbcc:\r\n\r\nbody\r\n").HasBcc);
        Assert.False(Read("From: printer@contoso.com\r\nTo: alice@example.com\r\n\r\nbody\r\n").HasBcc);
    }

    [Fact]
    public void MessageIdIsReadWithoutSurroundingWhitespace()
    {
        var headers = Read("From: printer@contoso.com\r\nMessage-ID:   <abc.123@contoso.com>  \r\n\r\nbody\r\n");

        Assert.Equal("<abc.123@contoso.com>", headers.MessageId);
    }

    [Fact]
    public void MissingMessageIdIsNull()
    {
        Assert.Null(Read("From: printer@contoso.com\r\n\r\nbody\r\n").MessageId);
    }

    [Fact]
    public void RecipientNamedInToWithADisplayNameIsNotABlindRecipient()
    {
        // A reference relay compared header text, so "Alice <alice@example.com>" made alice a Bcc as well.
        var headers = Read("From: printer@contoso.com\r\nTo: Alice <alice@example.com>\r\nCc: \"Bob\" <BOB@Example.com>\r\n\r\nbody\r\n");

        var missing = headers.MissingFromHeaders(["alice@example.com", "bob@example.com", "Alice@EXAMPLE.com"]);

        Assert.Empty(missing);
    }

    [Fact]
    public void EnvelopeRecipientsThatToAndCcDoNotNameAreBlindRecipients()
    {
        var headers = Read("From: printer@contoso.com\r\nTo: Alice <alice@example.com>\r\nCc: carol@example.com\r\n\r\nbody\r\n");

        var missing = headers.MissingFromHeaders(["alice@example.com", "eve@example.com", "carol@example.com", "zed@example.com"]);

        Assert.Equal(["eve@example.com", "zed@example.com"], missing);
    }

    [Fact]
    public void RecipientNamedOnlyInABodyLineIsABlindRecipient()
    {
        var headers = Read("From: printer@contoso.com\r\nTo: alice@example.com\r\n\r\nTo: eve@example.com\r\n");

        Assert.Equal(["eve@example.com"], headers.MissingFromHeaders(["alice@example.com", "eve@example.com"]));
    }

    [Fact]
    public void RecipientWhoseAddressOnlyAppearsInsideADisplayNameIsABlindRecipient()
    {
        var headers = Read("From: printer@contoso.com\r\nTo: \"eve@example.com\" <alice@example.com>\r\n\r\nbody\r\n");

        Assert.Equal(["eve@example.com"], headers.MissingFromHeaders(["alice@example.com", "eve@example.com"]));
    }

    [Fact]
    public void HeaderOnlyRecipientsAreToAndCcAddressesTheEnvelopeDoesNotName()
    {
        var headers = Read(
            "From: printer@contoso.com\r\n" +
            "To: Alice <ALICE@example.com>, \"bob@example.com\" <mallory@example.com>\r\n" +
            "Cc: carol@example.com, Mallory <MALLORY@example.com>, team: dave@example.com;\r\n" +
            "Bcc: eve@example.com\r\n\r\n" +
            "To: body-only@example.com\r\n");

        var missing = headers.MissingFromEnvelope(["alice@example.com", "bob@example.com", "Carol@Example.COM"]);

        // Parsed addresses, compared regardless of case, each once; the client's own Bcc: never goes out.
        Assert.Equal(["mallory@example.com", "dave@example.com"], missing);
    }
}
