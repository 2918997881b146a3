using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>STARTTLS and implicit TLS over real sockets, with MailKit as the client.</summary>
public class TlsEndToEndTests
{
    [Fact]
    public async Task MailKitSendsOverStartTlsAndTheReceivedHeaderNamesTheTlsSession()
    {
        await using var stack = await RelayStack.StartAsync(tls: true);

        var presented = await SmtpClients.HandshakeAsync(stack.SmtpPort, SecureSocketOptions.StartTls, send: true);

        Assert.Equal(stack.Certificate!.Thumbprint, presented.Thumbprint);
        var stored = await MimeMessage.LoadAsync(Assert.Single(Directory.GetFiles(stack.PickupDirectory, "*.eml")));
        var received = stored.Headers[HeaderId.Received];
        Assert.Matches(@"\(using TLSv1\.[23] with cipher TLS_\w+\)", received);
        Assert.Contains($"(Authenticated sender: {RelayStack.Account})", received, StringComparison.Ordinal);
        Assert.Contains("with ESMTPSA id", received, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MailKitSendsOverImplicitTls()
    {
        await using var stack = await RelayStack.StartAsync(tls: true);

        var presented = await SmtpClients.HandshakeAsync(stack.ImplicitTlsPort!.Value, SecureSocketOptions.SslOnConnect, send: true);

        Assert.Equal(stack.Certificate!.Thumbprint, presented.Thumbprint);
        Assert.Single(Directory.GetFiles(stack.PickupDirectory, "*.eml"));
    }

    [Fact]
    public async Task ReplacedPemFilesAreUsedByTheNextStartTlsWithoutARestart()
    {
        await using var stack = await RelayStack.StartAsync(tls: true);
        var before = await SmtpClients.HandshakeAsync(stack.SmtpPort, SecureSocketOptions.StartTls, send: true);

        var renewed = LoopbackCertificate.WritePemFiles(stack.CertificateDirectory!, "relay.test renewed");
        var afterStartTls = await SmtpClients.HandshakeAsync(stack.SmtpPort, SecureSocketOptions.StartTls, send: true);
        var afterImplicit = await SmtpClients.HandshakeAsync(stack.ImplicitTlsPort!.Value, SecureSocketOptions.SslOnConnect, send: true);

        Assert.Equal(stack.Certificate!.Thumbprint, before.Thumbprint);
        Assert.NotEqual(before.Thumbprint, renewed.Thumbprint);
        Assert.Equal(renewed.Thumbprint, afterStartTls.Thumbprint);
        Assert.Equal(renewed.Thumbprint, afterImplicit.Thumbprint);
        Assert.Contains(stack.Logs, line => line.Contains("TLS certificate reloaded: CN=relay.test renewed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AHalfWrittenReplacementKeepsThePreviousCertificateInUse()
    {
        await using var stack = await RelayStack.StartAsync(tls: true);
        await File.WriteAllTextAsync(Path.Combine(stack.CertificateDirectory!, "key.pem"), "-----BEGIN PRIVATE KEY-----\ntruncated");

        var presented = await SmtpClients.HandshakeAsync(stack.SmtpPort, SecureSocketOptions.StartTls, send: true);

        Assert.Equal(stack.Certificate!.Thumbprint, presented.Thumbprint);
        Assert.Contains(stack.Logs, line => line.StartsWith("Warning", StringComparison.Ordinal) && line.Contains("could not be loaded", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CommandsPipelinedBehindStartTlsAreDiscardedNotRunInsideTls()
    {
        await using var stack = await RelayStack.StartAsync(tls: true);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, stack.SmtpPort);
        var network = tcp.GetStream();
        var reader = new StreamReader(network, Encoding.ASCII);
        await ReadReplyAsync(reader);
        await network.WriteAsync("EHLO attacker\r\n"u8.ToArray());
        await ReadReplyAsync(reader);

        // CVE-2011-0411: the injected commands travel in clear text in the same packet as STARTTLS.
        await network.WriteAsync("STARTTLS\r\nRSET\r\nMAIL FROM:<injected@evil.example>\r\n"u8.ToArray());
        Assert.StartsWith("220 2.0.0", await ReadReplyAsync(reader), StringComparison.Ordinal);
        await using var tls = new SslStream(network, leaveInnerStreamOpen: true, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "relay.test" });
        var secure = new StreamReader(tls, Encoding.ASCII);

        // Had the injected lines run, this NOOP would be answered third (after RSET's 250 and MAIL's 503/530).
        await tls.WriteAsync("NOOP\r\n"u8.ToArray());
        Assert.StartsWith("250 2.0.0", await ReadReplyAsync(secure), StringComparison.Ordinal);
        await tls.WriteAsync("MAIL FROM:<a@contoso.com>\r\n"u8.ToArray());
        Assert.StartsWith("503 5.5.1", await ReadReplyAsync(secure), StringComparison.Ordinal);
        await tls.WriteAsync("EHLO attacker\r\nSTARTTLS\r\n"u8.ToArray());
        Assert.StartsWith("250 ", await ReadReplyAsync(secure), StringComparison.Ordinal);
        Assert.Equal("503 5.5.1 TLS is already active", await ReadReplyAsync(secure));
        Assert.Contains(stack.Logs, line => line.Contains("bytes after STARTTLS before the handshake; discarded", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AClientThatNeverCompletesTheHandshakeIsDisconnected()
    {
        await using var stack = await RelayStack.StartAsync(tls: true, smtpSettings: new Dictionary<string, string?>
        {
            ["Smtp:Tls:HandshakeTimeout"] = "00:00:01",
        });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, stack.ImplicitTlsPort!.Value);

        var read = await tcp.GetStream().ReadAsync(new byte[16]).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, read);
    }

    private static async Task<string> ReadReplyAsync(StreamReader reader)
    {
        while (true)
        {
            var line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)) ?? throw new IOException("closed");
            if (line.Length < 4 || line[3] != '-')
            {
                return line;
            }
        }
    }
}
