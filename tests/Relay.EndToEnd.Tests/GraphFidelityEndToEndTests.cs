using System.Collections.Concurrent;
using System.Text;
using MailKit.Net.Smtp;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using Relay.Sender.Delivery.Graph;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// What Relay changes in a message on its way to Graph (its Received: line, a Bcc: field for envelope-only recipients,
/// quoted-printable parts as base64) and nothing else; which mailbox a message without a usable sender goes out through.
/// Every message is sent over a raw SMTP socket, so the bytes compared are the bytes the client wrote.
/// </summary>
public sealed class GraphFidelityEndToEndTests
{
    // MimeKit needs the code pages provider for iso-8859-2 (otherwise it falls back to Latin-1).
    static GraphFidelityEndToEndTests() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    private const string QuotedPrintableHtml =
        "From: Scanner <scanner@contoso.com>\r\n" +
        "To: alice@fabrikam.com\r\n" +
        "Subject: Report\r\n" +
        "MIME-Version: 1.0\r\n" +
        "Content-Type: multipart/alternative; boundary=\"=_alt\"\r\n" +
        "\r\n" +
        "--=_alt\r\n" +
        "Content-Type: text/plain; charset=us-ascii\r\n" +
        "Content-Transfer-Encoding: 7bit\r\n" +
        "\r\n" +
        "Report attached.\r\n" +
        "--=_alt\r\n" +
        "Content-Type: text/html; charset=utf-8\r\n" +
        "Content-Transfer-Encoding: quoted-printable\r\n" +
        "\r\n" +
        "<table class=3D\"report=\r\nc1\"><tr><td>Gr=C3=BC=C3=9Fe</td></tr></table>\r\n" +
        "--=_alt--\r\n";

    private const string DecodedHtml = "<table class=\"reportc1\"><tr><td>Grüße</td></tr></table>";

    /// <summary>Logs in as the Relay account and sends <paramref name="message"/> as it is; returns the reply to the final dot.</summary>
    private static async Task<string> SendRawAsync(int port, string mailFrom, IEnumerable<string> recipients, byte[] message)
    {
        await using var client = await SmtpClients.Raw.ConnectAsync(port);
        await client.SendAsync("EHLO raw.test");
        var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{RelayStack.Account}\0{RelayStack.Password}"));
        Assert.StartsWith("235 ", await client.SendAsync($"AUTH PLAIN {plain}"), StringComparison.Ordinal);
        Assert.StartsWith("250 ", await client.SendAsync($"MAIL FROM:<{mailFrom}> BODY=8BITMIME"), StringComparison.Ordinal);
        foreach (var recipient in recipients)
        {
            Assert.StartsWith("250 ", await client.SendAsync($"RCPT TO:<{recipient}>"), StringComparison.Ordinal);
        }
        Assert.StartsWith("354 ", await client.SendAsync("DATA"), StringComparison.Ordinal);
        // Latin-1 maps every byte to one char and back, so dot-stuffing leaves 8-bit bytes alone.
        var stuffed = Encoding.Latin1.GetString(message).Replace("\r\n.", "\r\n..", StringComparison.Ordinal);
        return await client.SendBytesAsync(Encoding.Latin1.GetBytes(stuffed + ".\r\n"));
    }

    /// <summary>The MIME Graph received is one Received: field (Relay's) and then exactly <paramref name="expected"/>.</summary>
    private static void AssertReceivedThen(byte[] expected, byte[] mime)
    {
        Assert.True(mime.AsSpan().EndsWith(expected), "The message Graph received does not end with the expected bytes.");
        var prefix = Encoding.ASCII.GetString(mime, 0, mime.Length - expected.Length);
        Assert.StartsWith("Received: from raw.test ", prefix, StringComparison.Ordinal);
        Assert.EndsWith("\r\n", prefix, StringComparison.Ordinal);
        // Any further line of the prefix is a continuation of the Received: field, not a field of its own.
        Assert.All(prefix.Split("\r\n")[1..^1], line => Assert.True(line[0] is ' ' or '\t', $"Unexpected field before the message: {line}"));
    }

    [Fact]
    public async Task QuotedPrintableHtmlArrivesAsBase64WithTheSameTextAndEverythingElseAsWritten()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud);

        var reply = await SendRawAsync(stack.SmtpPort, "scanner@contoso.com", ["alice@fabrikam.com"], Encoding.ASCII.GetBytes(QuotedPrintableHtml));

        Assert.StartsWith("250 2.0.0", reply, StringComparison.Ordinal);
        var sent = Assert.Single(cloud.SentMail);
        var expected = QuotedPrintableHtml
            .Replace("Content-Transfer-Encoding: quoted-printable", "Content-Transfer-Encoding: base64", StringComparison.Ordinal)
            .Replace("<table class=3D\"report=\r\nc1\"><tr><td>Gr=C3=BC=C3=9Fe</td></tr></table>",
                Convert.ToBase64String(Encoding.UTF8.GetBytes(DecodedHtml)), StringComparison.Ordinal);
        AssertReceivedThen(Encoding.ASCII.GetBytes(expected), sent.Mime!);
        var delivered = MimeMessage.Load(new MemoryStream(sent.Mime!));
        Assert.Equal(DecodedHtml, delivered.HtmlBody);
        Assert.Equal("Report attached.", delivered.TextBody);
    }

    [Fact]
    public async Task WithReencodingOffQuotedPrintableArrivesByteForByte()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, senderSettings: new Dictionary<string, string?>
        {
            ["Graph:ReencodeQuotedPrintable"] = "false",
        });

        await SendRawAsync(stack.SmtpPort, "scanner@contoso.com", ["alice@fabrikam.com"], Encoding.ASCII.GetBytes(QuotedPrintableHtml));

        AssertReceivedThen(Encoding.ASCII.GetBytes(QuotedPrintableHtml), Assert.Single(cloud.SentMail).Mime!);
    }

    [Fact]
    public async Task AnIso88592MessageArrivesByteForByteAndDecodesToTheRightText()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud);
        var latin2 = Encoding.GetEncoding("iso-8859-2");
        const string subject = "Zażółć gęślą jaźń";
        const string body = "Faktura w załączniku.\r\nŁódź, Gdańsk, Kraków: żółte źrebię.\r\n";
        const string fileName = "Łódź faktura ż.pdf";
        var pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n"u8.ToArray();
        var message = Encoding.ASCII.GetBytes(
            "From: =?ISO-8859-2?Q?Skaner_=A3=F3d=BC?= <scanner@contoso.com>\r\n" +
            "To: alice@fabrikam.com\r\n" +
            $"Subject: =?ISO-8859-2?B?{Convert.ToBase64String(latin2.GetBytes(subject))}?=\r\n" +
            "MIME-Version: 1.0\r\n" +
            "Content-Type: multipart/mixed; boundary=\"mixed\"\r\n" +
            "\r\n" +
            "--mixed\r\n" +
            "Content-Type: text/plain; charset=ISO-8859-2\r\n" +
            "Content-Transfer-Encoding: 8bit\r\n" +
            "\r\n")
            .Concat(latin2.GetBytes(body))
            .Concat(Encoding.ASCII.GetBytes(
                "--mixed\r\n" +
                $"Content-Type: application/pdf; name=\"=?ISO-8859-2?B?{Convert.ToBase64String(latin2.GetBytes(fileName))}?=\"\r\n" +
                "Content-Transfer-Encoding: base64\r\n" +
                "Content-Disposition: attachment;\r\n" +
                $" filename*=ISO-8859-2''{string.Concat(latin2.GetBytes(fileName).Select(b => char.IsAsciiLetterOrDigit((char)b) || b == '.' ? ((char)b).ToString() : $"%{b:X2}"))}\r\n" +
                "\r\n" +
                Convert.ToBase64String(pdf) + "\r\n" +
                "--mixed--\r\n"))
            .ToArray();

        Assert.StartsWith("250 2.0.0", await SendRawAsync(stack.SmtpPort, "scanner@contoso.com", ["alice@fabrikam.com"], message), StringComparison.Ordinal);

        var sent = Assert.Single(cloud.SentMail);
        AssertReceivedThen(message, sent.Mime!);
        var delivered = MimeMessage.Load(new MemoryStream(sent.Mime!));
        Assert.Equal(subject, delivered.Subject);
        Assert.Equal("Skaner Łódź", delivered.From.Mailboxes.Single().Name);
        // The line break before a boundary belongs to the boundary (RFC 2046 §5.1.1).
        Assert.Equal(body[..^2], delivered.TextBody!.ReplaceLineEndings("\r\n"));
        var attachment = Assert.IsType<MimePart>(Assert.Single(delivered.Attachments));
        Assert.Equal(fileName, attachment.FileName);
        Assert.Equal(fileName, attachment.ContentType.Name);
        using var content = new MemoryStream();
        attachment.Content!.DecodeTo(content);
        Assert.Equal(pdf, content.ToArray());
    }

    [Fact]
    public async Task HeaderOnlyRecipientsAreDeliveredByDefaultAsGraphDoes()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud);
        var message = SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com");
        message.Cc.Add(MailboxAddress.Parse("Bob <bob@fabrikam.com>"));

        await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, message, recipients: ["alice@fabrikam.com"]);

        var delivered = MimeMessage.Load(new MemoryStream(Assert.Single(cloud.SentMail).Mime!));
        Assert.Equal(["bob@fabrikam.com"], delivered.Cc.Mailboxes.Select(m => m.Address));
        Assert.Empty(delivered.Bcc);
    }

    [Fact]
    public async Task HeaderOnlyRecipientsCanBeRefusedNamingTheAddressAndWhy()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, senderSettings: new Dictionary<string, string?>
        {
            ["Graph:HeaderOnlyRecipients"] = "Reject",
        });
        var message = SmtpClients.Message("scanner@contoso.com", "Alice <ALICE@fabrikam.com>");
        message.Cc.Add(MailboxAddress.Parse("Bob <bob@fabrikam.com>"));

        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() =>
            SmtpClients.SendWithMailKitAsync(stack.SmtpPort, message, recipients: ["alice@fabrikam.com", "carol@fabrikam.com"]));
        await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, message, recipients: ["alice@fabrikam.com", "bob@fabrikam.com"]);

        Assert.Equal(550, (int)refused.StatusCode);
        Assert.StartsWith("5.7.1 <bob@fabrikam.com> is in To: or Cc: but the client did not give it in RCPT TO", refused.Message, StringComparison.Ordinal);
        Assert.Single(cloud.SentMail);
    }

    [Fact]
    public async Task ABounceWithTheNullSenderGoesOutThroughItsFromMailbox()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud);
        var bounce = Encoding.ASCII.GetBytes(
            "From: Mail Delivery System <scanner@contoso.com>\r\n" +
            "To: alice@fabrikam.com\r\n" +
            "Subject: Undeliverable: scan\r\n" +
            "Auto-Submitted: auto-replied\r\n" +
            "\r\n" +
            "Your scan could not be stored.\r\n");

        var reply = await SendRawAsync(stack.SmtpPort, "", ["alice@fabrikam.com"], bounce);

        Assert.StartsWith("250 2.0.0", reply, StringComparison.Ordinal);
        var sent = Assert.Single(cloud.SentMail);
        Assert.Equal("scanner@contoso.com", sent.Mailbox);
        Assert.Equal("/v1.0/users/scanner@contoso.com/sendMail", cloud.Requests.Single(r => r.Path.EndsWith("/sendMail", StringComparison.Ordinal)).Path);
        AssertReceivedThen(bounce, sent.Mime!);
    }

    [Fact]
    public async Task NeitherFromNorAnEnvelopeSenderIs553WithoutCallingGraph()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud);
        var headless = Encoding.ASCII.GetBytes("To: alice@fabrikam.com\r\nSubject: who am I\r\n\r\nbody\r\n");

        var reply = await SendRawAsync(stack.SmtpPort, "", ["alice@fabrikam.com"], headless);

        Assert.StartsWith("553 5.1.7 Cannot tell which mailbox to send from", reply, StringComparison.Ordinal);
        Assert.Contains("add a From: header", reply, StringComparison.Ordinal);
        Assert.Empty(cloud.SentMail);
        Assert.DoesNotContain(cloud.Requests, r => r.Path.Contains("/users/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AMessageWithoutFromGoesOutThroughTheEnvelopeSenderAsWritten()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud);
        var noFrom = Encoding.ASCII.GetBytes("To: alice@fabrikam.com\r\nSubject: scan\r\n\r\nbody\r\n");

        var reply = await SendRawAsync(stack.SmtpPort, "scanner@contoso.com", ["alice@fabrikam.com"], noFrom);

        Assert.StartsWith("250 2.0.0", reply, StringComparison.Ordinal);
        var sent = Assert.Single(cloud.SentMail);
        Assert.Equal("scanner@contoso.com", sent.Mailbox);
        AssertReceivedThen(noFrom, sent.Mime!);
    }

    [Theory]
    [InlineData("From: scanner\r\n", "scanner")]
    [InlineData("From: \"scan ner\"@contoso.com\r\n", "\"scan ner\"@contoso.com")]
    [InlineData("From: Scanner <scanner@[192.0.2.7]>\r\n", "scanner@[192.0.2.7]")]
    public async Task AFromAddressThatCannotNameAMailboxIsRefusedBeforeGraph(string fromField, string address)
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud);
        var message = Encoding.ASCII.GetBytes(fromField + "To: alice@fabrikam.com\r\nSubject: scan\r\n\r\nbody\r\n");

        var reply = await SendRawAsync(stack.SmtpPort, "scanner@contoso.com", ["alice@fabrikam.com"], message);

        Assert.StartsWith($"553 5.1.7 Cannot send through the From: address <{address}>", reply, StringComparison.Ordinal);
        Assert.DoesNotContain(cloud.Requests, r => r.Path.Contains("/users/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AMailboxWithPlusAndApostropheIsPercentEncodedInTheRequestUrl()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        var urls = new ConcurrentQueue<Uri>();
        await using var stack = await RelayStack.StartAsync(cloud, configureSender: builder =>
            builder.Services.AddHttpClient(GraphClientProvider.GraphHttpClient).AddHttpMessageHandler(() => new RecordingHandler(urls)));

        await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("Pat O'Brien <o'brien+scans@contoso.com>", "alice@fabrikam.com"));

        Assert.Equal("o'brien+scans@contoso.com", Assert.Single(cloud.SentMail).Mailbox);
        var url = Assert.Single(urls, u => u.AbsolutePath.EndsWith("/sendMail", StringComparison.Ordinal));
        Assert.EndsWith("/users/o%27brien%2Bscans%40contoso.com/sendMail", url.AbsoluteUri, StringComparison.Ordinal);
    }

    /// <summary>Records the URL of every Graph request exactly as it goes on the wire.</summary>
    private sealed class RecordingHandler(ConcurrentQueue<Uri> urls) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            urls.Enqueue(request.RequestUri!);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
