using System.Text;
using System.Text.RegularExpressions;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// The SMTP clients people actually have — swaks, curl, Python's smtplib, Postfix's smtp-source and MailKit — against
/// Relay over real sockets. Every test looks at what arrived, not only at the client's exit code.
/// </summary>
public class InteropTests
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("LOGIN", false)]
    [InlineData("PLAIN", false)]
    [InlineData("LOGIN", true)]
    public async Task SwaksDeliversWithEachAuthMechanism(string mechanism, bool pipelining)
    {
        await using var stack = await RelayStack.StartAsync();
        string[] arguments =
        [
            "--server", $"127.0.0.1:{stack.SmtpPort}", "--auth", mechanism,
            "--auth-user", RelayStack.Account, "--auth-password", RelayStack.Password,
            "--from", "scanner@contoso.com", "--to", "alice@fabrikam.com",
            "--header", "Subject: swaks test", "--body", "Body line\n.starts with a dot", "--timeout", "30",
            .. pipelining ? new[] { "--pipeline" } : [],
        ];

        var result = await ExternalTool.RunAsync("swaks", arguments);

        Assert.True(result.ExitCode == 0, result.ToString());
        var stored = await TheOnlyStoredMessageAsync(stack);
        Assert.Equal("swaks test", stored.Subject);
        Assert.Contains("\n.starts with a dot", stored.TextBody?.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--tls", "LOGIN", false)]
    [InlineData("--tls-on-connect", "PLAIN", true)]
    public async Task SwaksDeliversOverTlsAndTheReceivedHeaderNamesTheTlsSession(string tlsOption, string mechanism, bool implicitTls)
    {
        await using var stack = await RelayStack.StartAsync(tls: true);
        var port = implicitTls ? stack.ImplicitTlsPort!.Value : stack.SmtpPort;

        var result = await ExternalTool.RunAsync("swaks",
        [
            "--server", $"127.0.0.1:{port}", tlsOption, "--auth", mechanism,
            "--auth-user", RelayStack.Account, "--auth-password", RelayStack.Password,
            "--from", "scanner@contoso.com", "--to", "alice@fabrikam.com",
            "--header", $"Subject: swaks {tlsOption}", "--body", "Sent over TLS", "--timeout", "30",
        ], timeout: ToolTimeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        // swaks prints "TLS started with cipher ..." once the handshake is done, before AUTH is sent.
        Assert.Contains("TLS started", result.Output, StringComparison.Ordinal);
        var stored = await TheOnlyStoredMessageAsync(stack);
        Assert.Equal($"swaks {tlsOption}", stored.Subject);
        Assert.Equal("Sent over TLS", stored.TextBody?.TrimEnd());
        var received = stored.Headers[HeaderId.Received] ?? string.Empty;
        Assert.Contains("(using TLSv1.", received, StringComparison.Ordinal);
        Assert.Contains($"(Authenticated sender: {RelayStack.Account})", received, StringComparison.Ordinal);
        Assert.Contains("with ESMTPSA id", received, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SwaksWithAWrongPasswordGets535()
    {
        await using var stack = await RelayStack.StartAsync();

        var result = await ExternalTool.RunAsync("swaks",
        [
            "--server", $"127.0.0.1:{stack.SmtpPort}", "--auth", "LOGIN", "--auth-user", RelayStack.Account,
            "--auth-password", "not-the-password", "--from", "scanner@contoso.com", "--to", "alice@fabrikam.com", "--timeout", "30",
        ]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("535 5.7.8", result.Output, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(stack.PickupDirectory));
    }

    [Theory]
    [InlineData("smtp", false)]
    [InlineData("smtps", true)]
    public async Task CurlUploadsAFileToTwoRecipientsOverTls(string scheme, bool implicitTls)
    {
        await using var stack = await RelayStack.StartAsync(tls: true);
        var port = implicitTls ? stack.ImplicitTlsPort!.Value : stack.SmtpPort;
        // Next to the certificate, not in the pickup folder, and removed with the stack.
        var message = Path.Combine(stack.CertificateDirectory!, "message.eml");
        await File.WriteAllTextAsync(message,
            "From: Scanner <scanner@contoso.com>\r\nTo: alice@fabrikam.com, bob@fabrikam.com\r\nSubject: from curl\r\n\r\n" +
            "First line\r\n.a line that curl must dot-stuff\r\n");

        var result = await ExternalTool.RunAsync("curl",
        [
            "--silent", "--show-error", "--max-time", "30",
            // The URL's path is what curl says in EHLO.
            "--url", $"{scheme}://127.0.0.1:{port}/curl.test", "--ssl-reqd",
            // The relay's self-signed certificate names 127.0.0.1, so curl can verify it instead of using --insecure.
            "--cacert", Path.Combine(stack.CertificateDirectory!, "cert.pem"),
            "--user", $"{RelayStack.Account}:{RelayStack.Password}",
            "--mail-from", "scanner@contoso.com", "--mail-rcpt", "alice@fabrikam.com", "--mail-rcpt", "bob@fabrikam.com",
            "--upload-file", message,
        ], timeout: ToolTimeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        var stored = await TheOnlyStoredMessageAsync(stack);
        Assert.Equal(["<scanner@contoso.com>"], EnvelopeLines(stored, "X-Sender"));
        Assert.Equal(["<alice@fabrikam.com>", "<bob@fabrikam.com>"], EnvelopeLines(stored, "X-Receiver"));
        Assert.Equal("from curl", stored.Subject);
        Assert.Equal("First line\n.a line that curl must dot-stuff", stored.TextBody?.ReplaceLineEndings("\n").TrimEnd());
        var received = stored.Headers[HeaderId.Received] ?? string.Empty;
        Assert.StartsWith("from curl.test ([127.0.0.1])", received, StringComparison.Ordinal);
        Assert.Contains("(using TLSv1.", received, StringComparison.Ordinal);
        Assert.Contains("with ESMTPSA id", received, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PythonSmtplibSendMessageWithBccReachesGraphAsBccOnly()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud);
        var script = $$"""
            import smtplib
            from email.message import EmailMessage
            m = EmailMessage()
            m['From'] = 'Scanner <scanner@contoso.com>'
            m['To'] = 'Alice <alice@fabrikam.com>'
            m['Bcc'] = 'bob@fabrikam.com'
            m['Subject'] = 'from python'
            m.set_content('hello from smtplib')
            with smtplib.SMTP('127.0.0.1', {{stack.SmtpPort}}, timeout=30) as s:
                s.login('{{RelayStack.Account}}', '{{RelayStack.Password}}')
                print(s.send_message(m))
            """;

        var result = await ExternalTool.RunAsync("python3", ["-c", script]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var sent = Assert.Single(cloud.SentMail);
        Assert.Equal("scanner@contoso.com", sent.Mailbox);
        var delivered = MimeMessage.Load(new MemoryStream(sent.Mime!));
        Assert.Equal(["bob@fabrikam.com"], delivered.Bcc.Mailboxes.Select(m => m.Address));
        Assert.Equal(["alice@fabrikam.com"], delivered.To.Mailboxes.Select(m => m.Address));
        Assert.Equal("from python", delivered.Subject);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PythonSmtplibOverTlsSendsABccThatReachesGraphAsBccOnly(bool implicitTls)
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, tls: true);
        var connect = implicitTls
            ? $"smtplib.SMTP_SSL('127.0.0.1', {stack.ImplicitTlsPort}, timeout=30, context=context)"
            : $"smtplib.SMTP('127.0.0.1', {stack.SmtpPort}, timeout=30)";
        var script = $$"""
            import hashlib, smtplib, ssl
            from email.message import EmailMessage
            # Unverified on purpose, as people run it against a relay with a self-signed certificate; the test checks
            # the certificate's fingerprint itself.
            context = ssl._create_unverified_context()
            m = EmailMessage()
            m['From'] = 'Scanner <scanner@contoso.com>'
            m['To'] = 'alice@fabrikam.com'
            m['Cc'] = 'carol@fabrikam.com'
            m['Bcc'] = 'bob@fabrikam.com'
            m['Subject'] = 'python over tls'
            m.set_content('hello over TLS')
            with {{connect}} as s:
                if not isinstance(s, smtplib.SMTP_SSL):
                    print('starttls', s.starttls(context=context)[0])
                s.login('{{RelayStack.Account}}', '{{RelayStack.Password}}')
                print('refused', s.send_message(m))
                print('certificate', hashlib.sha1(s.sock.getpeercert(binary_form=True)).hexdigest().upper())
            """;

        var result = await ExternalTool.RunAsync("python3", ["-c", script], timeout: ToolTimeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("refused {}", result.Output, StringComparison.Ordinal);
        Assert.Contains($"certificate {stack.Certificate!.Thumbprint}", result.Output, StringComparison.Ordinal);
        Assert.Equal(!implicitTls, result.Output.Contains("starttls 220", StringComparison.Ordinal));
        var sent = Assert.Single(cloud.SentMail);
        var delivered = MimeMessage.Load(new MemoryStream(sent.Mime!));
        Assert.Equal("python over tls", delivered.Subject);
        Assert.Equal(["bob@fabrikam.com"], delivered.Bcc.Mailboxes.Select(m => m.Address));
        Assert.Equal(["alice@fabrikam.com"], delivered.To.Mailboxes.Select(m => m.Address));
        Assert.Equal(["carol@fabrikam.com"], delivered.Cc.Mailboxes.Select(m => m.Address));
        Assert.Contains("(using TLSv1.", delivered.Headers[HeaderId.Received] ?? string.Empty, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PythonSmtplibSendsToAnInternationalAddressWithSmtpUtf8()
    {
        await using var stack = await RelayStack.StartAsync();
        var script = $$"""
            import smtplib
            from email.message import EmailMessage
            m = EmailMessage()
            m['From'] = 'scanner@contoso.com'
            m['To'] = 'jürgen@fabrikam.com'
            m['Subject'] = 'Grüße'
            m.set_content('Grüße aus Köln')
            with smtplib.SMTP('127.0.0.1', {{stack.SmtpPort}}, timeout=30) as s:
                s.set_debuglevel(1)
                s.login('{{RelayStack.Account}}', '{{RelayStack.Password}}')
                print('refused', s.send_message(m))
            """;

        var result = await ExternalTool.RunAsync("python3", ["-c", script], timeout: ToolTimeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("refused {}", result.Output, StringComparison.Ordinal);
        // smtplib adds SMTPUTF8 by itself when an address is not ASCII and the server advertises it (debug goes to stderr).
        Assert.Matches(@"mail FROM:<scanner@contoso\.com>.* SMTPUTF8", result.Error);
        var stored = await TheOnlyStoredMessageAsync(stack);
        Assert.Equal(["<jürgen@fabrikam.com>"], EnvelopeLines(stored, "X-Receiver"));
        Assert.Equal("Grüße", stored.Subject);
        Assert.Equal("Grüße aus Köln", stored.TextBody?.TrimEnd());
        Assert.Contains(" with UTF8SMTPA id ", stored.Headers[HeaderId.Received] ?? string.Empty, StringComparison.Ordinal);
    }

    /// <summary>
    /// Postfix's load generator: parallel sessions, one message each (<c>-s 4 -m 20</c>), or several messages and
    /// recipients per connection (<c>-d -r 3</c>). It has no AUTH, so it sends as an anonymous network, and no
    /// PIPELINING ("No SMTP command pipelining support", smtp-source(1) BUGS).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PostfixSmtpSourceDeliversEveryMessageAsAnAnonymousNetwork(bool reuseConnections)
    {
        await using var stack = await RelayStack.StartAsync(
            senderSettings: new Dictionary<string, string?> { ["Identity:AnonymousAccount"] = RelayStack.Account },
            smtpSettings: new Dictionary<string, string?> { ["Smtp:Anonymous:AllowedNetworks:0"] = "127.0.0.1/32" });
        const int messages = 20;
        var recipients = reuseConnections ? new[] { "3alice@fabrikam.com", "2alice@fabrikam.com", "alice@fabrikam.com" } : ["alice@fabrikam.com"];
        string[] arguments =
        [
            "-c", "-l", "2000", "-m", messages.ToString(System.Globalization.CultureInfo.InvariantCulture), "-s", "4",
            "-M", "source.test", "-S", "smtp-source load",
            "-f", "scanner@contoso.com", "-t", "alice@fabrikam.com",
            // -d: next message over the same connection; -r 3: 3alice@, 2alice@ and alice@ in each transaction.
            .. reuseConnections ? new[] { "-d", "-r", "3" } : [],
            $"inet:127.0.0.1:{stack.SmtpPort}",
        ];

        var result = await ExternalTool.RunAsync("/usr/sbin/smtp-source", arguments, timeout: ToolTimeout);

        Assert.True(result.ExitCode == 0, result.ToString());
        var files = Directory.GetFiles(stack.PickupDirectory, "*.eml");
        Assert.Equal(messages, files.Length);
        foreach (var file in files)
        {
            var stored = await MimeMessage.LoadAsync(file);
            Assert.Equal("smtp-source load", stored.Subject);
            Assert.Equal(["scanner@contoso.com"], stored.From.Mailboxes.Select(m => m.Address));
            Assert.Equal(recipients.Select(r => $"<{r}>"), EnvelopeLines(stored, "X-Receiver"));
            var received = stored.Headers[HeaderId.Received] ?? string.Empty;
            Assert.StartsWith("from source.test ([127.0.0.1])", received, StringComparison.Ordinal);
            Assert.DoesNotContain("Authenticated sender", received, StringComparison.Ordinal);
            // -l 2000: 2000 octets of payload, line breaks included.
            var payload = (stored.TextBody ?? string.Empty).Replace("\r", string.Empty, StringComparison.Ordinal).Replace("\n", string.Empty, StringComparison.Ordinal);
            Assert.InRange(payload.Length, 1900, 2000);
        }
    }

    /// <summary>
    /// MailKit sends with BDAT only when the message needs BINARYMIME (which Relay does not advertise) or when a subclass
    /// overrides <c>PreferSendAsBinaryData</c>; with CHUNKING alone an ordinary SmtpClient uses DATA. Both must deliver.
    /// </summary>
    [Theory]
    [InlineData(true, "BDAT")]
    [InlineData(false, "DATA")]
    public async Task MailKitDeliversWithBdatWhenItPrefersBinaryDataAndWithDataOtherwise(bool preferBinaryData, string expectedVerb)
    {
        await using var stack = await RelayStack.StartAsync();
        var attachment = new byte[150_000];
        Random.Shared.NextBytes(attachment);
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("scanner@contoso.com"));
        message.To.Add(MailboxAddress.Parse("alice@fabrikam.com"));
        message.Subject = $"sent with {expectedVerb}";
        var body = new BodyBuilder { TextBody = "Résumé attached.\r\n.a line with a leading dot\r\n" };
        body.Attachments.Add("scan.bin", attachment, new ContentType("application", "octet-stream"));
        message.Body = body.ToMessageBody();
        using var transcript = new MemoryStream();

        var logger = new ProtocolLogger(transcript, leaveOpen: true);
        using (var client = preferBinaryData ? new BdatPreferringSmtpClient(logger) : new SmtpClient(logger))
        {
            client.Timeout = 30_000;
            await client.ConnectAsync("127.0.0.1", stack.SmtpPort, SecureSocketOptions.None);
            Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.Chunking));
            await client.AuthenticateAsync(RelayStack.Account, RelayStack.Password);
            await client.SendAsync(message);
            await client.DisconnectAsync(quit: true);
        }

        var commands = Encoding.UTF8.GetString(transcript.ToArray()).Split('\n').Where(l => l.StartsWith("C: ", StringComparison.Ordinal)).ToList();
        var transfer = Assert.Single(commands, c => c.StartsWith("C: BDAT ", StringComparison.Ordinal) || c.TrimEnd('\r') == "C: DATA");
        Assert.StartsWith($"C: {expectedVerb}", transfer, StringComparison.Ordinal);
        if (preferBinaryData)
        {
            Assert.Matches(new Regex(@"^C: BDAT \d+ LAST\r?$"), transfer);
        }
        var stored = await TheOnlyStoredMessageAsync(stack);
        Assert.Equal($"sent with {expectedVerb}", stored.Subject);
        Assert.Equal("Résumé attached.\n.a line with a leading dot", stored.TextBody?.ReplaceLineEndings("\n").TrimEnd());
        var scan = Assert.IsType<MimePart>(Assert.Single(stored.Attachments));
        Assert.Equal("scan.bin", scan.FileName);
        using var decoded = new MemoryStream();
        await scan.Content!.DecodeToAsync(decoded);
        Assert.Equal(attachment, decoded.ToArray());
    }

    private static async Task<MimeMessage> TheOnlyStoredMessageAsync(RelayStack stack) =>
        await MimeMessage.LoadAsync(Assert.Single(Directory.GetFiles(stack.PickupDirectory, "*.eml")));

    /// <summary>The pickup file's envelope (<c>X-Sender</c> or <c>X-Receiver</c> lines above Relay's Received line), in order.</summary>
    private static IEnumerable<string> EnvelopeLines(MimeMessage stored, string field) =>
        stored.Headers.Where(h => h.Field == field).Select(h => h.Value.Trim());

    private sealed class BdatPreferringSmtpClient(IProtocolLogger logger) : SmtpClient(logger)
    {
        protected override bool PreferSendAsBinaryData => true;
    }
}
