using System.Net;
using System.Text;

namespace Relay.Smtp.Tests;

/// <summary>CHUNKING, SMTPUTF8, DSN parameters, content checks and TLS policy, replayed whole, byte by byte and line by line.</summary>
public class ExtensionTranscriptTests
{
    private const string Login = "EHLO printer\r\nAUTH PLAIN {0}\r\n";
    private static readonly string Start = string.Format(Login, SessionHarness.PlainLogin) + "MAIL FROM:<scanner@contoso.com>\r\nRCPT TO:<alice@fabrikam.com>\r\n";
    private static readonly string[] StartCodes = ["220", "250", "235 2.7.0", "250 2.1.0", "250 2.1.5"];

    private static string Bdat(string content, bool last = false) =>
        $"BDAT {Encoding.UTF8.GetByteCount(content)}{(last ? " LAST" : string.Empty)}\r\n{content}";

    [Fact]
    public async Task BdatChunksAreJoinedWithoutDotHandlingAndTheLastOneGetsTheVerdict()
    {
        var (codes, sender) = await SessionHarness.ReplayAsync(
            Start + Bdat("Subject: chunked\r\n\r\n.not stuffed\r\nMAIL FROM:<x@y.z>\r\n") + Bdat("tail\r\n.\r\n", last: true) + "QUIT\r\n",
            exactBytes: true);

        Assert.Equal([.. StartCodes, "250 2.0.0", "250 2.0.0", "221 2.0.0"], codes);
        var (_, body) = Assert.Single(sender.Delivered);
        Assert.Equal("Subject: chunked\r\n\r\n.not stuffed\r\nMAIL FROM:<x@y.z>\r\ntail\r\n.\r\n", Encoding.UTF8.GetString(body));
    }

    [Fact]
    public async Task AnEmptyLastChunkCompletesTheMessage()
    {
        var (codes, sender) = await SessionHarness.ReplayAsync(Start + Bdat("Subject: a\r\n\r\nb\r\n") + "BDAT 0 LAST\r\nQUIT\r\n", exactBytes: true);

        Assert.Equal([.. StartCodes, "250 2.0.0", "250 2.0.0", "221 2.0.0"], codes);
        Assert.Equal("Subject: a\r\n\r\nb\r\n", Encoding.UTF8.GetString(Assert.Single(sender.Delivered).Body));
    }

    [Fact]
    public async Task AChunkOutOfSequenceIsReadAndDiscardedSoItsBytesNeverRunAsCommands()
    {
        var sneaky = "RSET\r\nMAIL FROM:<evil@x.y>\r\n";
        var (codes, sender) = await SessionHarness.ReplayAsync(
            string.Format(Login, SessionHarness.PlainLogin) + Bdat(sneaky) + "NOOP\r\n", exactBytes: true);

        Assert.Equal(["220", "250", "235 2.7.0", "503 5.5.1", "250 2.0.0"], codes);
        Assert.Empty(sender.Delivered);
    }

    [Fact]
    public async Task DataAfterBdatIsABadSequenceAndRsetAbandonsTheChunks()
    {
        var (codes, sender) = await SessionHarness.ReplayAsync(Start + Bdat("part\r\n") + "DATA\r\nRSET\r\nQUIT\r\n", exactBytes: true);

        Assert.Equal([.. StartCodes, "250 2.0.0", "503 5.5.1", "250 2.0.0", "221 2.0.0"], codes);
        Assert.Empty(sender.Delivered);
        Assert.Equal(1, sender.Cancelled);
    }

    [Fact]
    public async Task ChunksOverTheSizeLimitFailTheTransactionAndLaterChunksAreDiscarded()
    {
        var big = new string('x', 600) + "\r\n";
        var (codes, sender) = await SessionHarness.ReplayAsync(
            Start + Bdat(big) + Bdat(big) + Bdat(big, last: true) + "NOOP\r\n", o => o.MaxMessageSize = 1024, exactBytes: true);

        Assert.Equal([.. StartCodes, "250 2.0.0", "552 5.3.4", "503 5.5.1", "250 2.0.0"], codes);
        Assert.Empty(sender.Delivered);
    }

    [Theory]
    [InlineData("BDAT\r\n")]
    [InlineData("BDAT ten\r\n")]
    [InlineData("BDAT 5 FIRST\r\n")]
    public async Task ABdatWithoutAUsableSizeEndsTheSessionBecauseItsEndCannotBeFound(string command)
    {
        var (codes, _) = await SessionHarness.ReplayAsync(Start + command + "NOOP\r\n", exactBytes: true);

        Assert.Equal([.. StartCodes, "501 5.5.4"], codes);
    }

    [Fact]
    public async Task InternationalisedAddressesNeedSmtpUtf8()
    {
        var (codes, sender) = await SessionHarness.ReplayAsync($"""
            EHLO printer
            AUTH PLAIN {SessionHarness.PlainLogin}
            MAIL FROM:<jörg@bücher.example>
            MAIL FROM:<jörg@bücher.example> SMTPUTF8
            RCPT TO:<møller@fabrikam.example>
            DATA
            Subject: ü

            .
            MAIL FROM:<scanner@contoso.com>
            RCPT TO:<møller@fabrikam.example>

            """);

        Assert.Equal(["220", "250", "235 2.7.0", "553 5.6.7", "250 2.1.0", "250 2.1.5", "354", "250 2.0.0", "250 2.1.0", "553 5.6.7"], codes);
        var envelope = Assert.Single(sender.Delivered).Envelope;
        Assert.Equal(["møller@fabrikam.example"], envelope.Recipients);
        Assert.Contains(" with UTF8SMTPA id ", envelope.TraceHeader, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DsnParametersAreAcceptedWhenWellFormedAndIgnored()
    {
        var (codes, _) = await SessionHarness.ReplayAsync($"""
            EHLO printer
            AUTH PLAIN {SessionHarness.PlainLogin}
            MAIL FROM:<a@b.example> RET=HDRS ENVID=QQ+2B314
            RCPT TO:<c@d.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@d.example
            RCPT TO:<e@d.example> NOTIFY=NEVER
            RCPT TO:<f@d.example> NOTIFY=SOMETIMES
            RCPT TO:<g@d.example> ORCPT=c@d.example
            RSET
            MAIL FROM:<a@b.example> RET=EVERYTHING

            """);

        Assert.Equal(["220", "250", "235 2.7.0", "250 2.1.0", "250 2.1.5", "250 2.1.5", "501 5.5.4", "501 5.5.4", "250 2.0.0", "501 5.5.4"], codes);
    }

    [Fact]
    public async Task NulInACommandIsRefusedAndTheSessionCarriesOn()
    {
        var (codes, _) = await SessionHarness.ReplayAsync("EHLO printer\r\nNOOP\0\r\nNOOP\r\n", exactBytes: true);

        Assert.Equal(["220", "250", "500 5.5.2", "250 2.0.0"], codes);
    }

    [Fact]
    public async Task NulInTheMessageIsRefusedOnceDataEnds()
    {
        var (codes, sender) = await SessionHarness.ReplayAsync(Start + "DATA\r\nSubject: a\r\n\r\nb\0c\r\n.\r\nNOOP\r\n", exactBytes: true);

        Assert.Equal([.. StartCodes, "354", "554 5.6.0", "250 2.0.0"], codes);
        Assert.Empty(sender.Delivered);
    }

    [Fact]
    public async Task NulInAChunkIsRefusedAtTheLastChunk()
    {
        var (codes, sender) = await SessionHarness.ReplayAsync(Start + Bdat("a\0b\r\n", last: true) + "NOOP\r\n", exactBytes: true);

        Assert.Equal([.. StartCodes, "554 5.6.0", "250 2.0.0"], codes);
        Assert.Empty(sender.Delivered);
    }

    [Theory]
    [InlineData(998, "250 2.0.0")]
    [InlineData(999, "550 5.6.0")]
    public async Task TextLinesMayBe1000OctetsWithTheirCrLf(int length, string verdict)
    {
        var (codes, _) = await SessionHarness.ReplayAsync(
            Start + $"DATA\r\nSubject: a\r\n\r\n{new string('x', length)}\r\n.\r\n", exactBytes: true);

        Assert.Equal([.. StartCodes, "354", verdict], codes);
    }

    [Fact]
    public async Task TheTextLineLimitCanBeRaisedForBrokenDevices()
    {
        var (codes, _) = await SessionHarness.ReplayAsync(
            Start + $"DATA\r\n{new string('x', 5000)}\r\n.\r\n", o => o.MaxTextLineLength = 8000, exactBytes: true);

        Assert.Equal([.. StartCodes, "354", "250 2.0.0"], codes);
    }

    [Fact]
    public async Task BareLineFeedsInChunksAreNormalisedOrRejectedLikeData()
    {
        var (normalized, sender) = await SessionHarness.ReplayAsync(Start + Bdat("a\nb\r\n", last: true), exactBytes: true);
        var (rejected, _) = await SessionHarness.ReplayAsync(Start + Bdat("a\nb\r\n", last: true),
            o => o.BareLineFeed = Protocol.BareLineFeedHandling.Reject, exactBytes: true);

        Assert.Equal([.. StartCodes, "250 2.0.0"], normalized);
        Assert.Equal("a\r\nb\r\n", Encoding.UTF8.GetString(Assert.Single(sender.Delivered).Body));
        Assert.Equal([.. StartCodes, "550 5.6.0"], rejected);
    }

    [Fact]
    public async Task RemoteClientsAreNeitherOfferedNorAllowedAuthInClearText()
    {
        var sender = new FakeSenderClient();
        var output = await SessionHarness.RunAsync($"EHLO printer\r\nAUTH PLAIN {SessionHarness.PlainLogin}\r\nQUIT\r\n",
            Segmentation.Whole, sender, SessionHarness.Options(o => o.Tls.RequireForAuth = true));

        Assert.DoesNotContain("AUTH", output.Split("\r\n")[1..^3].Where(l => l.StartsWith("250", StringComparison.Ordinal)));
        Assert.Equal(["220", "250", "538 5.7.11", "221 2.0.0"], SessionHarness.ReplyCodes(output));
        Assert.Empty(sender.Logins);
    }

    [Fact]
    public async Task LoopbackClientsMayAuthInClearTextEvenWhenTlsIsRequired()
    {
        var sender = new FakeSenderClient();
        var output = await SessionHarness.RunAsync($"EHLO printer\r\nAUTH PLAIN {SessionHarness.PlainLogin}\r\n",
            Segmentation.Whole, sender, SessionHarness.Options(o => o.Tls.RequireForAuth = true), IPAddress.IPv6Loopback);

        Assert.Contains("250-AUTH PLAIN LOGIN\r\n", output, StringComparison.Ordinal);
        Assert.Equal(["220", "250", "235 2.7.0"], SessionHarness.ReplyCodes(output));
    }

    [Fact]
    public async Task RequireForMailRefusesMailInClearText()
    {
        var (codes, _) = await SessionHarness.ReplayAsync($"""
            EHLO printer
            AUTH PLAIN {SessionHarness.PlainLogin}
            MAIL FROM:<scanner@contoso.com>

            """, o => o.Tls.RequireForMail = true);

        Assert.Equal(["220", "250", "235 2.7.0", "530 5.7.0"], codes);
    }

    [Fact]
    public async Task StartTlsWithoutACertificateIsNotOfferedAndRefusedAsUnavailable()
    {
        var sender = new FakeSenderClient();
        var output = await SessionHarness.RunAsync("EHLO printer\r\nSTARTTLS now\r\nSTARTTLS\r\nNOOP\r\n", Segmentation.Whole, sender);

        Assert.DoesNotContain("STARTTLS", output.Split("\r\n")[1], StringComparison.Ordinal);
        Assert.DoesNotContain("250-STARTTLS", output, StringComparison.Ordinal);
        Assert.Equal(["220", "250", "501 5.5.4", "454 4.7.0", "250 2.0.0"], SessionHarness.ReplyCodes(output));
    }
}
