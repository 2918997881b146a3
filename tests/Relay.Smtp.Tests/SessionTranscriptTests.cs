using System.Net;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Relay.Smtp.Protocol;

namespace Relay.Smtp.Tests;

/// <summary>
/// Whole SMTP conversations replayed against a session, each one three ways — all at once, one byte per segment and
/// one line per segment — and required to produce the same replies every time.
/// </summary>
public class SessionTranscriptTests
{
    private static readonly string PlainLogin = SessionHarness.PlainLogin;

    private static string B64(string text) => SessionHarness.B64(text);

    [Fact]
    public async Task APlainLoginTransactionIsAcceptedOnlyAfterTheSenderAccepts()
    {
        var (codes, sender) = await SessionHarness.ReplayAsync($"""
            EHLO printer.local
            AUTH PLAIN {PlainLogin}
            MAIL FROM:<scanner@contoso.com> SIZE=120 BODY=8BITMIME
            RCPT TO:<alice@fabrikam.com>
            RCPT TO:<bob@fabrikam.com>
            DATA
            Subject: scan

            ..dotted
            .
            QUIT

            """);

        Assert.Equal(["220", "250", "235 2.7.0", "250 2.1.0", "250 2.1.5", "250 2.1.5", "354", "250 2.0.0", "221 2.0.0"], codes);
        var (envelope, body) = Assert.Single(sender.Delivered);
        Assert.Equal("scanner@contoso.com", envelope.MailFrom);
        Assert.Equal(["alice@fabrikam.com", "bob@fabrikam.com"], envelope.Recipients);
        Assert.Equal(FakeSenderClient.Username, envelope.Identity);
        Assert.Equal(120, envelope.DeclaredSize);
        Assert.Equal("Subject: scan\r\n\r\n.dotted\r\n", Encoding.UTF8.GetString(body));
        Assert.StartsWith(
            $"Received: from printer.local ([192.0.2.10])\r\n\t(Authenticated sender: {FakeSenderClient.Username})\r\n\tby relay.test (Relay) with ESMTPA id {envelope.QueueId};",
            envelope.TraceHeader, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALoginTheSenderNeedsTravelsWithEveryMessageOfTheSession()
    {
        var (codes, sender) = await SessionHarness.ReplayAsync($"""
            EHLO erp.local
            AUTH LOGIN {B64(FakeSenderClient.Username)}
            {B64(FakeSenderClient.Password)}
            MAIL FROM:<erp@contoso.com>
            RCPT TO:<alice@fabrikam.com>
            DATA
            Subject: one

            .
            MAIL FROM:<erp@contoso.com>
            RCPT TO:<bob@fabrikam.com>
            DATA
            Subject: two

            .
            QUIT

            """, arrange: s => s.LoginNeededForDelivery = true);

        Assert.Equal(["220", "250", "334", "235 2.7.0", "250 2.1.0", "250 2.1.5", "354", "250 2.0.0", "250 2.1.0", "250 2.1.5", "354", "250 2.0.0", "221 2.0.0"], codes);
        Assert.Equal(2, sender.Delivered.Count);
        Assert.All(sender.Delivered, delivered =>
        {
            Assert.Equal(FakeSenderClient.Username, delivered.Envelope.Login.Username);
            Assert.Equal(FakeSenderClient.Password, delivered.Envelope.Login.Password);
        });
    }

    [Fact]
    public async Task ALoginTheSenderDoesNotNeedIsNotKept()
    {
        var (_, sender) = await SessionHarness.ReplayAsync($"""
            EHLO printer.local
            AUTH PLAIN {PlainLogin}
            MAIL FROM:<scanner@contoso.com>
            RCPT TO:<alice@fabrikam.com>
            DATA
            Subject: scan

            .
            QUIT

            """);

        Assert.Null(Assert.Single(sender.Delivered).Envelope.Login);
    }

    [Fact]
    public async Task LoginWithPromptsAndLowerCaseVerbsWorks()
    {
        var (codes, sender) = await SessionHarness.ReplayAsync($"""
            ehlo printer
            auth login
            {B64(FakeSenderClient.Username)}
            {B64(FakeSenderClient.Password).TrimEnd('=')}
            quit

            """);

        Assert.Equal(["220", "250", "334", "334", "235 2.7.0", "221 2.0.0"], codes);
        Assert.Equal(FakeSenderClient.Password, Assert.Single(sender.Logins).Password);
    }

    [Fact]
    public async Task LoginPromptsAreUsernameAndPasswordForPickyPrinters()
    {
        var output = await SessionHarness.RunAsync("EHLO x\r\nAUTH LOGIN\r\n*\r\nQUIT\r\n", Segmentation.Whole, new FakeSenderClient());

        Assert.Contains("334 VXNlcm5hbWU6\r\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoginWithInitialResponseSkipsTheUsernamePrompt()
    {
        var (codes, _) = await SessionHarness.ReplayAsync($"""
            EHLO printer
            AUTH LOGIN {B64(FakeSenderClient.Username)}
            {B64(FakeSenderClient.Password)}
            QUIT

            """);

        Assert.Equal(["220", "250", "334", "235 2.7.0", "221 2.0.0"], codes);
    }

    [Fact]
    public async Task AnEqualsSignIsAnEmptyResponseAndReachesTheSenderAsAnEmptyPassword()
    {
        var (codes, sender) = await SessionHarness.ReplayAsync($$"""
            EHLO printer
            AUTH LOGIN {{B64(FakeSenderClient.Username)}}
            =
            AUTH PLAIN =

            """);

        Assert.Equal(["220", "250", "334", "535 5.7.8", "501 5.5.2"], codes);
        var login = Assert.Single(sender.Logins);
        Assert.Equal((FakeSenderClient.Username, string.Empty), (login.Username, login.Password));
    }

    [Fact]
    public async Task AuthFailuresAndCancellationGetTheirOwnReplyAndTheSessionCarriesOn()
    {
        var (codes, _) = await SessionHarness.ReplayAsync($"""
            EHLO printer
            AUTH PLAIN {B64("\0printer\0wrong")}
            AUTH PLAIN not!base64
            AUTH LOGIN
            *
            AUTH CRAM-MD5
            AUTH
            AUTH PLAIN {B64("someone-else\0printer\0x")}
            AUTH PLAIN
            {PlainLogin}
            AUTH PLAIN {PlainLogin}
            QUIT

            """);

        Assert.Equal(
            ["220", "250", "535 5.7.8", "501 5.5.2", "334", "501 5.7.0", "504 5.5.4", "501 5.5.4", "535 5.7.8", "334", "235 2.7.0", "503 5.5.1", "221 2.0.0"],
            codes);
    }

    [Fact]
    public async Task OutOfOrderCommandsAreRefusedNamingWhatWasExpected()
    {
        var output = await SessionHarness.RunAsync(
            "MAIL FROM:<a@b.c>\r\nEHLO x\r\nRCPT TO:<a@b.c>\r\nDATA\r\nQUIT\r\n", Segmentation.Whole, new FakeSenderClient());

        Assert.Contains("503 5.5.1 Bad sequence of commands: expected EHLO or HELO\r\n", output, StringComparison.Ordinal);
        Assert.Contains("503 5.5.1 Bad sequence of commands: expected MAIL\r\n", output, StringComparison.Ordinal);
        Assert.Equal(["220", "503 5.5.1", "250", "503 5.5.1", "503 5.5.1", "221 2.0.0"], SessionHarness.ReplyCodes(output));
    }

    [Fact]
    public async Task UnknownCommandsAndSyntaxErrorsAreTheClientsFaultAndTheServerCarriesOn()
    {
        var (codes, _) = await SessionHarness.ReplayAsync($"""
            HELO
            HELO printer
            DATAX
            VRFY
            VRFY alice
            HELP
            NOOP
            AUTH PLAIN {PlainLogin}
            MAIL TO:<a@b.c>
            MAIL FROM:<not an address>
            MAIL FROM:<a@b.c> SIZE=abc
            MAIL FROM:<a@b.c> XYZZY=1
            MAIL FROM:<a@b.c>
            RCPT TO:<bad>
            RCPT TO:<x@y.z> XYZZY=1
            RCPT TO:<x@y.z>
            DATA now
            RSET
            QUIT

            """);

        Assert.Equal(
            ["220", "501 5.5.4", "250", "500 5.5.1", "501 5.5.4", "252 2.5.2", "214 2.0.0", "250 2.0.0", "235 2.7.0",
             "501 5.5.4", "553 5.1.7", "501 5.5.4", "555 5.5.4", "250 2.1.0", "553 5.1.3", "555 5.5.4", "250 2.1.5",
             "501 5.5.4", "250 2.0.0", "221 2.0.0"],
            codes);
    }

    [Fact]
    public async Task AnOverlongLineIsRefusedWithoutEndingTheSession()
    {
        var (codes, _) = await SessionHarness.ReplayAsync($"NOOP {new string('x', 5000)}\r\nNOOP\r\nQUIT\r\n");

        Assert.Equal(["220", "500 5.5.2", "250 2.0.0", "221 2.0.0"], codes);
    }

    [Fact]
    public async Task MailWithoutAuthenticationIsRefusedOutsideTheAnonymousNetworks()
    {
        var (codes, _) = await SessionHarness.ReplayAsync("EHLO x\r\nMAIL FROM:<a@b.c>\r\nQUIT\r\n");

        Assert.Equal(["220", "250", "530 5.7.0", "221 2.0.0"], codes);
    }

    [Fact]
    public async Task AnonymousNetworksMaySendWithoutAuth()
    {
        var (codes, sender) = await SessionHarness.ReplayAsync("HELO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n",
            o => o.Anonymous.AllowedNetworks = ["192.0.2.0/24"]);

        Assert.Equal(["220", "250", "250 2.1.0", "250 2.1.5", "354", "250 2.0.0", "221 2.0.0"], codes);
        var (envelope, _) = Assert.Single(sender.Delivered);
        Assert.Equal(string.Empty, envelope.Identity);
        Assert.Contains(" with SMTP id ", envelope.TraceHeader, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADeclaredSizeOverTheLimitIsRefusedAtMail()
    {
        var (codes, _) = await SessionHarness.ReplayAsync($"EHLO x\r\nAUTH PLAIN {PlainLogin}\r\nMAIL FROM:<a@b.c> SIZE=10001\r\nQUIT\r\n");

        Assert.Equal(["220", "250", "235 2.7.0", "552 5.3.4", "221 2.0.0"], codes);
    }

    [Fact]
    public async Task ABodyOverTheLimitIsReadToTheEndThenRefusedAndNeverSubmitted()
    {
        var body = string.Concat(Enumerable.Repeat("0123456789012345678901234567890123456789\r\n", 400));
        var (codes, sender) = await SessionHarness.ReplayAsync(
            $"EHLO x\r\nAUTH PLAIN {PlainLogin}\r\nMAIL FROM:<a@b.c> SIZE=100\r\nRCPT TO:<d@e.f>\r\nDATA\r\n{body}.\r\nNOOP\r\nQUIT\r\n");

        Assert.Equal(["220", "250", "235 2.7.0", "250 2.1.0", "250 2.1.5", "354", "552 5.3.4", "250 2.0.0", "221 2.0.0"], codes);
        Assert.Empty(sender.Delivered);
        Assert.Equal(1, sender.Cancelled);
    }

    [Fact]
    public async Task TooManyRecipientsGet452AndTheRestStillGoes()
    {
        var (codes, sender) = await SessionHarness.ReplayAsync(
            $"EHLO x\r\nAUTH PLAIN {PlainLogin}\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<1@e.f>\r\nRCPT TO:<2@e.f>\r\nRCPT TO:<3@e.f>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n",
            o => o.MaxRecipients = 2);

        Assert.Equal(["220", "250", "235 2.7.0", "250 2.1.0", "250 2.1.5", "250 2.1.5", "452 4.5.3", "354", "250 2.0.0", "221 2.0.0"], codes);
        Assert.Equal(2, Assert.Single(sender.Delivered).Envelope.Recipients.Count);
    }

    [Fact]
    public async Task BareLineFeedsAreRejectedWhenConfiguredSo()
    {
        var (codes, sender) = await SessionHarness.ReplayAsync(
            $"EHLO x\r\nAUTH PLAIN {PlainLogin}\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nbad\nline\r\n.\r\nQUIT\r\n",
            o => o.BareLineFeed = BareLineFeedHandling.Reject, exactBytes: true);

        Assert.Equal(["220", "250", "235 2.7.0", "250 2.1.0", "250 2.1.5", "354", "550 5.6.0", "221 2.0.0"], codes);
        Assert.Empty(sender.Delivered);
    }

    [Fact]
    public async Task ASmuggledMessageInsideDataIsContentNotCommands()
    {
        var (codes, sender) = await SessionHarness.ReplayAsync(
            $"EHLO x\r\nAUTH PLAIN {PlainLogin}\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nhi\n.\nMAIL FROM:<evil@x.y>\r\nRCPT TO:<victim@x.y>\r\nDATA\r\nspoof\r\n.\r\nQUIT\r\n",
            exactBytes: true);

        Assert.Equal(["220", "250", "235 2.7.0", "250 2.1.0", "250 2.1.5", "354", "250 2.0.0", "221 2.0.0"], codes);
        var (envelope, body) = Assert.Single(sender.Delivered);
        Assert.Equal(["d@e.f"], envelope.Recipients);
        Assert.Contains("MAIL FROM:<evil@x.y>", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSendersVerdictIsTheReplyToTheFinalDot()
    {
        var (codes, _) = await SessionHarness.ReplayAsync(
            $"EHLO x\r\nAUTH PLAIN {PlainLogin}\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n",
            arrange: s => s.Verdict = new SmtpReply(451, "4.4.2", "Microsoft 365 is busy"));

        Assert.Equal(["220", "250", "235 2.7.0", "250 2.1.0", "250 2.1.5", "354", "451 4.4.2", "221 2.0.0"], codes);
    }

    [Fact]
    public async Task AnUnreachableSenderIsATemporaryFailureBeforeAnyBodyIsSent()
    {
        var (codes, _) = await SessionHarness.ReplayAsync(
            $"EHLO x\r\nAUTH PLAIN {PlainLogin}\r\nQUIT\r\n", arrange: s => s.Unreachable = true);
        Assert.Equal(["220", "250", "454 4.7.0", "221 2.0.0"], codes);

        (codes, _) = await SessionHarness.ReplayAsync(
            "EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nQUIT\r\n",
            o => o.Anonymous.AllowedNetworks = ["192.0.2.0/24"], s => s.Unreachable = true);
        Assert.Equal(["220", "250", "250 2.1.0", "250 2.1.5", "451 4.3.0", "221 2.0.0"], codes);
    }

    [Fact]
    public async Task TooManyProtocolErrorsCloseTheSession()
    {
        var (codes, _) = await SessionHarness.ReplayAsync(string.Concat(Enumerable.Repeat("BOGUS\r\n", 5)) + "NOOP\r\n", o => o.MaxBadCommands = 3);

        Assert.Equal(["220", "500 5.5.1", "500 5.5.1", "500 5.5.1", "421 4.7.0"], codes);
    }

    [Fact]
    public async Task AnOverlongAuthLineIsRefusedWith556()
    {
        var (codes, _) = await SessionHarness.ReplayAsync($"EHLO x\r\nAUTH PLAIN\r\n{new string('A', 13000)}\r\nQUIT\r\n");

        Assert.Equal(["220", "250", "334", "500 5.5.6", "221 2.0.0"], codes);
    }

    [Fact]
    public async Task EhloAdvertisesTheExtensionsAndTheSizeLimit()
    {
        var output = await SessionHarness.RunAsync("EHLO client.example\r\nQUIT\r\n", Segmentation.Whole, new FakeSenderClient());

        Assert.Contains("250-relay.test greets client.example\r\n", output, StringComparison.Ordinal);
        foreach (var extension in new[] { "PIPELINING", "SIZE 10000", "8BITMIME", "ENHANCEDSTATUSCODES", "AUTH PLAIN LOGIN" })
        {
            Assert.Contains($"250-{extension}\r\n", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AClientThatGoesAwayMidMessageSubmitsNothing()
    {
        var sender = new FakeSenderClient();
        await SessionHarness.RunAsync($"EHLO x\r\nAUTH PLAIN {PlainLogin}\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nhalf a mess",
            Segmentation.Whole, sender);

        Assert.Empty(sender.Delivered);
        Assert.Equal(1, sender.Cancelled);
    }

    [Fact]
    public async Task AnIdleClientIsDisconnectedWith421()
    {
        await using var live = new LiveSession(new FakeSenderClient(), SessionHarness.Options(), new FakeTimeProvider());

        Assert.Equal("220", await live.ReadReplyAsync());
        live.Time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal("421 4.4.2", await live.ReadReplyAsync());
        await live.Ended.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
