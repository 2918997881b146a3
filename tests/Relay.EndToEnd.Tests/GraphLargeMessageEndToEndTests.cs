using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MimeKit;
using MimeKit.Text;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// Messages over Graph:MimeSizeLimit, through SMTP against the fake cloud: a draft, attachments (one POST when small, an
/// upload session when not), then send; and the temporary files of the spool gone on every path.
/// </summary>
public sealed class GraphLargeMessageEndToEndTests : IDisposable
{
    private const int MiB = 1024 * 1024;
    private const string Mailbox = "scanner@contoso.com";

    private readonly string _spool = Directory.CreateTempSubdirectory("relay-spool-").FullName;

    public void Dispose() => Directory.Delete(_spool, recursive: true);

    private Dictionary<string, string?> Settings => new()
    {
        ["Delivery:SpoolDirectory"] = _spool,
        ["Graph:RetryBaseDelay"] = "00:00:00.100",
    };

    [Fact]
    public async Task ATwentyMegabyteMessageWithAFifteenMegabyteAttachmentAndAnInlineImageArrivesCompleteThroughUploadSessions()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, Settings);
        var scan = RandomNumberGenerator.GetBytes(15 * MiB);
        var logo = RandomNumberGenerator.GetBytes(60_000);
        var report = RandomNumberGenerator.GetBytes(1 * MiB);
        var message = LargeMessage(scan, logo, report);

        var reply = await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, message,
            recipients: ["someone@example.com", "copy@example.com", "hidden@example.com", "audit@example.com"]);

        Assert.StartsWith("2.0.0", reply, StringComparison.Ordinal);
        var sent = Assert.Single(cloud.SentMail);
        Assert.Equal(SendMailFormat.Draft, sent.Format);
        Assert.Equal(Mailbox, sent.Mailbox, ignoreCase: true);
        var json = sent.Json!.Value;
        Assert.Equal("Scan from printer 7", Property(json, "subject").GetString());
        var body = Property(json, "body");
        Assert.Equal("html", Property(body, "contentType").GetString(), ignoreCase: true);
        Assert.Contains("<img src=\"cid:logo@relay\">", Property(body, "content").GetString(), StringComparison.Ordinal);
        Assert.Equal([("someone@example.com", "Some One")], Recipients(json, "toRecipients"));
        Assert.Equal([("copy@example.com", null)], Recipients(json, "ccRecipients"));
        // The client's Bcc (MailKit sends no Bcc: field, so no name) and the envelope-only recipient, as the MIME path's Bcc: field.
        Assert.Equal([("hidden@example.com", null), ("audit@example.com", null)], Recipients(json, "bccRecipients"));
        Assert.Equal([("helpdesk@contoso.com", "Help Desk")], Recipients(json, "replyTo"));
        Assert.Equal("high", Property(json, "importance").GetString(), ignoreCase: true);
        Assert.Equal(["X-Scanner-Id"], Property(json, "internetMessageHeaders").EnumerateArray().Select(h => Property(h, "name").GetString()));

        Assert.Equal(3, sent.Attachments.Count);
        var inline = Assert.Single(sent.Attachments, a => a.Name == "logo.png");
        Assert.Equal((true, "logo@relay", "image/png", false), (inline.IsInline, inline.ContentId, inline.ContentType, inline.Uploaded));
        Assert.Equal(logo, inline.Content);
        var small = Assert.Single(sent.Attachments, a => a.Name == "report.csv");
        Assert.Equal((false, false), (small.IsInline, small.Uploaded));
        Assert.Equal(report, small.Content);
        var large = Assert.Single(sent.Attachments, a => a.Name == "scan.pdf");
        Assert.Equal((false, true, "application/pdf"), (large.IsInline, large.Uploaded, large.ContentType));
        Assert.Equal(scan, large.Content);

        Assert.Empty(cloud.Drafts);
        var chunks = cloud.Requests.Where(r => r.Host == cloud.UploadHost).ToList();
        Assert.Equal(4, chunks.Count); // 15 MiB in chunks of 3,932,160 bytes.
        Assert.All(chunks, chunk => Assert.False(chunk.Headers.ContainsKey("Authorization")));
        Assert.All(chunks, chunk => Assert.True(chunk.Body.Length <= 4 * MiB));
        Assert.Contains(stack.Logs, line => line.Contains("via graph path upload", StringComparison.Ordinal));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_spool));
    }

    [Fact]
    public async Task AnIso88592MessageWithAnRfc2047AttachmentNameKeepsItsNamesAndSubjectOnTheUploadPath()
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        var latin2 = Encoding.GetEncoding("iso-8859-2");
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, Settings);
        const string subject = "Příliš žluťoučký kůň úpěl ďábelské ódy";
        const string fileName = "Účtenka č. 7, září.pdf";
        const string text = "Dobrý den, v příloze je účtenka. Řeřicha šťastně ňafá.";
        var content = RandomNumberGenerator.GetBytes(4 * MiB);
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Tiskárna Šárka", Mailbox));
        message.To.Add(new MailboxAddress("Jiří Novák", "jiri@example.com"));
        message.Headers.Replace(HeaderId.Subject, latin2, subject);
        var textPart = new TextPart(TextFormat.Plain);
        textPart.SetText(latin2, text);
        textPart.ContentTransferEncoding = ContentEncoding.QuotedPrintable;
        var attachment = new MimePart("application", "pdf")
        {
            Content = new MimeContent(new MemoryStream(content)),
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
            ContentTransferEncoding = ContentEncoding.Base64,
        };
        attachment.ContentDisposition.Parameters.Add(new Parameter(latin2, "filename", fileName) { EncodingMethod = ParameterEncodingMethod.Rfc2047 });
        message.Body = new Multipart("mixed") { textPart, attachment };
        var raw = Raw(message);
        Assert.Contains("=?iso-8859-2?", Encoding.ASCII.GetString(raw, 0, 4096), StringComparison.OrdinalIgnoreCase);

        var reply = await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, message);

        Assert.StartsWith("2.0.0", reply, StringComparison.Ordinal);
        var sent = Assert.Single(cloud.SentMail);
        var json = sent.Json!.Value;
        Assert.Equal(subject, Property(json, "subject").GetString());
        Assert.Equal(text, Property(Property(json, "body"), "content").GetString()!.TrimEnd());
        Assert.Equal([("jiri@example.com", "Jiří Novák")], Recipients(json, "toRecipients"));
        Assert.Equal(("Tiskárna Šárka", Mailbox), (Property(Property(Property(json, "from"), "emailAddress"), "name").GetString(),
            Property(Property(Property(json, "from"), "emailAddress"), "address").GetString()));
        var uploaded = Assert.Single(sent.Attachments);
        Assert.Equal((fileName, true), (uploaded.Name, uploaded.Uploaded));
        Assert.Equal(content, uploaded.Content);
    }

    [Fact]
    public async Task A429OnAnUploadChunkIsRetriedAndTheMessageArrivesOnce()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, Settings);
        cloud.GraphFault = request => request.Operation == GraphOperation.UploadChunk && request.Attempt == 2
            ? GraphFault.Throttled(TimeSpan.FromSeconds(1))
            : null;
        var scan = RandomNumberGenerator.GetBytes(10 * MiB);

        var reply = await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, LargeMessage(scan, logo: null, report: null),
            recipients: ["someone@example.com"]);

        Assert.StartsWith("2.0.0", reply, StringComparison.Ordinal);
        var sent = Assert.Single(cloud.SentMail);
        Assert.Equal(scan, Assert.Single(sent.Attachments).Content);
        Assert.Equal(1, cloud.Requests.Count(r => r.Method == "POST" && r.Path.EndsWith("/send", StringComparison.Ordinal)));
        // createDraft, createUploadSession, 3 chunks + the throttled one, send.
        Assert.Contains(stack.Logs, line => line.Contains("path upload, 7 attempts", StringComparison.Ordinal));
        Assert.Empty(cloud.Drafts);
    }

    [Fact]
    public async Task AFailureBeforeSendDeletesTheDraftAndTheSpoolFile()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, Settings);
        cloud.GraphFault = request => request.Operation == GraphOperation.CreateUploadSession ? GraphFault.QuotaExceeded() : null;

        var failure = await Assert.ThrowsAsync<MailKit.Net.Smtp.SmtpCommandException>(() => SmtpClients.SendWithMailKitAsync(stack.SmtpPort,
            LargeMessage(RandomNumberGenerator.GetBytes(5 * MiB), logo: null, report: null), recipients: ["someone@example.com"]));

        Assert.Equal(452, (int)failure.StatusCode);
        Assert.Empty(cloud.SentMail);
        Assert.Equal(1, cloud.Requests.Count(IsCreateMessage));
        Assert.Empty(cloud.Drafts);
        Assert.Contains(stack.Logs, line => line.Contains("unsent draft was deleted", StringComparison.Ordinal));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_spool));
    }

    [Fact]
    public async Task ASendWhoseAnswerIsLostIsNotRepeatedAndItsDraftIsLeftAlone()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, Settings);
        cloud.GraphFault = request => request.Operation == GraphOperation.Send ? GraphFault.DropConnectionAfterHandling() : null;

        var failure = await Assert.ThrowsAsync<MailKit.Net.Smtp.SmtpCommandException>(() => SmtpClients.SendWithMailKitAsync(stack.SmtpPort,
            LargeMessage(RandomNumberGenerator.GetBytes(4 * MiB), logo: null, report: null), recipients: ["someone@example.com"]));

        Assert.Equal(451, (int)failure.StatusCode);
        Assert.Single(cloud.SentMail);
        Assert.Equal(1, cloud.Requests.Count(r => r.Method == "POST" && r.Path.EndsWith("/send", StringComparison.Ordinal)));
        Assert.DoesNotContain(cloud.Requests, r => r.Method == "DELETE");
        Assert.Contains(stack.Logs, line => line.Contains("may have been sent", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARefusedSendDeletesTheDraft()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, Settings);
        cloud.GraphFault = request => request.Operation == GraphOperation.Send ? GraphFault.InvalidRecipients() : null;

        var failure = await Assert.ThrowsAsync<MailKit.Net.Smtp.SmtpCommandException>(() => SmtpClients.SendWithMailKitAsync(stack.SmtpPort,
            LargeMessage(RandomNumberGenerator.GetBytes(4 * MiB), logo: null, report: null), recipients: ["someone@example.com"]));

        Assert.Equal(550, (int)failure.StatusCode);
        Assert.Empty(cloud.SentMail);
        Assert.Empty(cloud.Drafts);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_spool));
    }

    [Fact]
    public async Task AccessDeniedOnCreatingTheDraftSaysMailReadWriteIsNeeded()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, Settings);
        cloud.GraphFault = request => request.Operation == GraphOperation.CreateMessage ? GraphFault.AccessDenied() : null;

        var failure = await Assert.ThrowsAsync<MailKit.Net.Smtp.SmtpCommandException>(() => SmtpClients.SendWithMailKitAsync(stack.SmtpPort,
            LargeMessage(RandomNumberGenerator.GetBytes(4 * MiB), logo: null, report: null), recipients: ["someone@example.com"]));

        Assert.Equal(550, (int)failure.StatusCode);
        Assert.Contains("Mail.ReadWrite", failure.Message, StringComparison.Ordinal);
        Assert.Empty(cloud.SentMail);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_spool));
    }

    [Fact]
    public async Task ASignedMessageTooLargeForMimeIsRefusedRatherThanBroken()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, Settings);
        var raw = "From: " + Mailbox + "\r\nTo: someone@example.com\r\nSubject: signed\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"b\"\r\n\r\n"
            + "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + Convert.ToBase64String(RandomNumberGenerator.GetBytes(3 * MiB), Base64FormattingOptions.InsertLineBreaks)
            + "\r\n--b\r\nContent-Type: application/pkcs7-signature\r\n\r\nAAAA\r\n--b--\r\n";

        var failure = await Assert.ThrowsAsync<MailKit.Net.Smtp.SmtpCommandException>(() =>
            SmtpClients.SendWithMailKitAsync(stack.SmtpPort, MimeMessage.Load(new MemoryStream(Encoding.ASCII.GetBytes(raw))),
                recipients: ["someone@example.com"]));

        Assert.Equal(552, (int)failure.StatusCode);
        Assert.Contains("signature", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(cloud.Requests, IsCreateMessage);
    }

    [Fact]
    public async Task AClientThatDropsTheConnectionMidDataLeavesNoSpoolFile()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, Settings);
        var raw = await SmtpClients.Raw.ConnectAsync(stack.SmtpPort);
        await raw.SendAsync("EHLO client.test");
        Assert.StartsWith("235", await raw.SendAsync("AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{RelayStack.Account}\0{RelayStack.Password}"))), StringComparison.Ordinal);
        Assert.StartsWith("250", await raw.SendAsync($"MAIL FROM:<{Mailbox}>"), StringComparison.Ordinal);
        Assert.StartsWith("250", await raw.SendAsync("RCPT TO:<someone@example.com>"), StringComparison.Ordinal);
        Assert.StartsWith("354", await raw.SendAsync("DATA"), StringComparison.Ordinal);
        await raw.WriteAsync($"From: {Mailbox}\r\nTo: someone@example.com\r\nSubject: cut short\r\n\r\n");
        var line = new string('x', 998) + "\r\n";
        for (var i = 0; i < 4 * MiB / line.Length; i++)
        {
            await raw.WriteAsync(line);
        }
        await WaitForAsync(() => Directory.EnumerateFiles(_spool).Any(), "a spool file while DATA is under way");

        await raw.DisposeAsync();

        await WaitForAsync(() => !Directory.EnumerateFileSystemEntries(_spool).Any(), "the spool file gone after the client left");
        Assert.Empty(cloud.SentMail);
    }

    /// <summary>
    /// multipart/mixed { multipart/related { multipart/alternative { text, html with cid:logo@relay }, logo.png }, report.csv,
    /// scan.pdf }, to Some One, Cc copy@, Bcc Hidden Person, Reply-To Help Desk, high importance, one X- header.
    /// </summary>
    private static MimeMessage LargeMessage(byte[] scan, byte[]? logo, byte[]? report)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Printer 7", Mailbox));
        message.To.Add(new MailboxAddress("Some One", "someone@example.com"));
        message.Cc.Add(MailboxAddress.Parse("copy@example.com"));
        message.Bcc.Add(new MailboxAddress("Hidden Person", "hidden@example.com"));
        message.ReplyTo.Add(new MailboxAddress("Help Desk", "helpdesk@contoso.com"));
        message.Subject = "Scan from printer 7";
        message.Importance = MessageImportance.High;
        message.Headers.Add("X-Scanner-Id", "7");

        var builder = new BodyBuilder
        {
            TextBody = "Scan attached.",
            HtmlBody = "<html><body><p>Scan attached.</p><img src=\"cid:logo@relay\"></body></html>",
        };
        if (logo is not null)
        {
            var image = builder.LinkedResources.Add("logo.png", logo, new ContentType("image", "png"));
            image.ContentId = "logo@relay";
        }
        if (report is not null)
        {
            builder.Attachments.Add("report.csv", report, new ContentType("text", "csv"));
        }
        builder.Attachments.Add("scan.pdf", scan, new ContentType("application", "pdf"));
        message.Body = builder.ToMessageBody();
        return message;
    }

    private static bool IsCreateMessage(RecordedRequest request) =>
        request.Method == "POST" && request.Path.EndsWith("/messages", StringComparison.Ordinal);

    private static byte[] Raw(MimeMessage message)
    {
        using var buffer = new MemoryStream();
        message.WriteTo(buffer);
        return buffer.ToArray();
    }

    private static JsonElement Property(JsonElement element, string name) =>
        element.EnumerateObject().First(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

    private static (string?, string?)[] Recipients(JsonElement message, string name) =>
        [.. Property(message, name).EnumerateArray().Select(r => Property(r, "emailAddress"))
            .Select(e => (Property(e, "address").GetString(), e.EnumerateObject().Any(p => p.Name.Equals("name", StringComparison.OrdinalIgnoreCase))
                ? Property(e, "name").GetString() : null))];

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}");
            await Task.Delay(50);
        }
    }
}
