using Microsoft.Extensions.Options;
using Relay.Contracts;
using Relay.Sender.Delivery;
using Relay.Sender.Delivery.Graph;
using Relay.Sender.Identity;
using Relay.Sender.Policy;

namespace Relay.Sender.Tests.Policy;

public sealed class SenderAuthorizationTests
{
    private static readonly RelayPrincipal Printer = new("printer", LoginKind.RelayAccount, ["*@contoso.com"], Mailbox: null);

    private static SenderDecision Decide(
        RelayPrincipal principal, string mailFrom, string[] from, SenderSource source = SenderSource.From)
    {
        var authorization = new SenderAuthorization(Options.Create(new GraphOptions { SenderSource = source }));
        var envelope = new Envelope { QueueId = "Q1", MailFrom = mailFrom, Recipients = { "someone@example.com" } };
        var headers = new MessageHeaders(from, ["someone@example.com"], [], HasBcc: false, MessageId: null);
        return authorization.Decide(principal, envelope, headers);
    }

    private static void AssertSent(SenderDecision decision, string mailbox)
    {
        Assert.Null(decision.Refusal);
        Assert.Equal(mailbox, decision.Mailbox);
    }

    private static void AssertRefused(SenderDecision decision, string login, string address)
    {
        Assert.Null(decision.Mailbox);
        Assert.NotNull(decision.Refusal);
        Assert.Equal(550, decision.Refusal.Code);
        Assert.Equal("5.7.1", decision.Refusal.EnhancedCode);
        Assert.Contains($"'{login}'", decision.Refusal.Text);
        Assert.Contains($"<{address}>", decision.Refusal.Text);
    }

    [Fact]
    public void MailboxIsTheFromAddressByDefault()
    {
        AssertSent(Decide(Printer, "bounces@contoso.com", ["alice@contoso.com"]), "alice@contoso.com");
    }

    [Fact]
    public void MailboxFallsBackToMailFromWhenTheMessageHasNoFrom()
    {
        AssertSent(Decide(Printer, "bounces@contoso.com", []), "bounces@contoso.com");
    }

    [Fact]
    public void NullSenderWithAFromAddressGoesOutThroughTheFromMailbox()
    {
        AssertSent(Decide(Printer, "", ["alice@contoso.com"]), "alice@contoso.com");
    }

    [Fact]
    public void EnvelopeSourceUsesMailFrom()
    {
        AssertSent(Decide(Printer, "bounces@contoso.com", ["alice@contoso.com"], SenderSource.Envelope), "bounces@contoso.com");
    }

    [Fact]
    public void EnvelopeSourceFallsBackToFromForTheNullSender()
    {
        AssertSent(Decide(Printer, "", ["alice@contoso.com"], SenderSource.Envelope), "alice@contoso.com");
    }

    [Theory]
    [InlineData(SenderSource.From)]
    [InlineData(SenderSource.Envelope)]
    [InlineData(SenderSource.Account)]
    public void FixedAccountMailboxWinsOverFromAndMailFrom(SenderSource source)
    {
        var principal = Printer with { Mailbox = "shared@contoso.com" };

        AssertSent(Decide(principal, "bounces@contoso.com", ["alice@contoso.com"], source), "shared@contoso.com");
    }

    [Fact]
    public void AccountSourceWithoutAFixedMailboxHasNoMailbox()
    {
        var decision = Decide(Printer, "bounces@contoso.com", ["alice@contoso.com"], SenderSource.Account);

        Assert.Null(decision.Mailbox);
        Assert.NotNull(decision.Refusal);
        Assert.Equal(553, decision.Refusal.Code);
    }

    [Fact]
    public void FromOutsideAllowedSendersIsRefusedNamingTheLoginAndTheAddress()
    {
        AssertRefused(Decide(Printer, "bounces@contoso.com", ["ceo@fabrikam.com"]), "printer", "ceo@fabrikam.com");
    }

    [Fact]
    public void FromOutsideAllowedSendersIsRefusedEvenWhenTheEnvelopeChoosesTheMailbox()
    {
        AssertRefused(Decide(Printer, "bounces@contoso.com", ["ceo@fabrikam.com"], SenderSource.Envelope), "printer", "ceo@fabrikam.com");
    }

    [Fact]
    public void MailFromOutsideAllowedSendersIsRefusedEvenWhenFromIsAllowed()
    {
        AssertRefused(Decide(Printer, "bounces@fabrikam.com", ["alice@contoso.com"]), "printer", "bounces@fabrikam.com");
    }

    [Fact]
    public void FixedMailboxOutsideAllowedSendersIsRefused()
    {
        var principal = Printer with { Mailbox = "shared@fabrikam.com" };

        AssertRefused(Decide(principal, "bounces@contoso.com", ["alice@contoso.com"]), "printer", "shared@fabrikam.com");
    }

    [Fact]
    public void FromOutsideAllowedSendersIsRefusedEvenWithAFixedMailbox()
    {
        var principal = Printer with { Mailbox = "shared@contoso.com" };

        AssertRefused(Decide(principal, "bounces@contoso.com", ["ceo@fabrikam.com"]), "printer", "ceo@fabrikam.com");
    }

    [Fact]
    public void EveryFromAddressMustBeAnAllowedSender()
    {
        // RFC 5322 allows several From: mailboxes; recipients see them all.
        AssertRefused(Decide(Printer, "bounces@contoso.com", ["alice@contoso.com", "ceo@fabrikam.com"]), "printer", "ceo@fabrikam.com");
    }

    [Theory]
    [InlineData("From: ceo@fabrikam.com (CEO\r\n")]
    [InlineData("From: ,ceo@fabrikam.com\r\n")]
    [InlineData("From: ceo@fabrikam.com <\r\n")]
    public void FromFieldThatCannotBeParsedIsNotIgnored(string fromField)
    {
        // No fallback to MAIL FROM: the message is refused as invalid (554 5.6.0) before authorization.
        var message = System.Text.Encoding.ASCII.GetBytes(fromField + "To: someone@example.com\r\n\r\nbody\r\n");

        Assert.Null(MessageHeaders.Read(new MemoryStream(message)));
    }

    [Fact]
    public void AllowedSendersAreComparedRegardlessOfCase()
    {
        AssertSent(Decide(Printer, "Bounces@CONTOSO.com", ["Alice@Contoso.COM"]), "Alice@Contoso.COM");
    }

    [Fact]
    public void NullSenderWithoutFromIsRefusedWith553()
    {
        var decision = Decide(Printer, "", []);

        Assert.Null(decision.Mailbox);
        Assert.NotNull(decision.Refusal);
        Assert.Equal(553, decision.Refusal.Code);
        Assert.Equal("5.1.7", decision.Refusal.EnhancedCode);
    }

    private static void AssertNoMailbox(SenderDecision decision, params string[] textParts)
    {
        Assert.Null(decision.Mailbox);
        Assert.NotNull(decision.Refusal);
        Assert.Equal(553, decision.Refusal.Code);
        Assert.Equal("5.1.7", decision.Refusal.EnhancedCode);
        foreach (var part in textParts)
        {
            Assert.Contains(part, decision.Refusal.Text, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(SenderSource.From)]
    [InlineData(SenderSource.Envelope)]
    public void NeitherFromNorEnvelopeSenderSaysWhatToAdd(SenderSource source)
    {
        AssertNoMailbox(Decide(Printer, "", [], source), "no From: address", "MAIL FROM:<>", "add a From: header");
    }

    [Fact]
    public void AccountSourceWithoutAFixedMailboxNamesTheLoginAndTheSetting()
    {
        AssertNoMailbox(Decide(Printer, "bounces@contoso.com", ["alice@contoso.com"], SenderSource.Account),
            "Graph:SenderSource is Account", "login 'printer' has no fixed Mailbox");
    }

    [Theory]
    [InlineData("scanner")]
    [InlineData("\"scan ner\"@contoso.com")]
    [InlineData("scanner@[192.0.2.7]")]
    [InlineData("scanner@localhost")]
    public void AFromAddressThatCannotNameAMailboxIsRefusedNotSentToGraph(string from)
    {
        AssertNoMailbox(Decide(Printer, "bounces@contoso.com", [from]), $"the From: address <{from}>", "not a mailbox address");
    }

    [Fact]
    public void NullSenderWithAFromThatCannotNameAMailboxIsRefused()
    {
        AssertNoMailbox(Decide(Printer, "", ["scanner"], SenderSource.Envelope), "the From: address <scanner>");
    }

    [Fact]
    public void AFixedMailboxThatIsNoAddressIsRefusedNamingTheLogin()
    {
        var principal = Printer with { Mailbox = "shared mailbox" };

        AssertNoMailbox(Decide(principal, "bounces@contoso.com", ["alice@contoso.com"]), "the fixed mailbox of login 'printer'");
    }

    [Theory]
    [InlineData("o'brien@contoso.com")]
    [InlineData("scan+dept@contoso.com")]
    [InlineData("first.last@contoso.com")]
    public void AddressesWithPlusApostropheAndDotsAreMailboxes(string from)
    {
        AssertSent(Decide(Printer, "", [from]), from);
    }
}
