using System.Security.Cryptography.X509Certificates;
using System.Net.Sockets;
using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Relay.EndToEnd.Tests;

/// <summary>The clients tests send with: MailKit, and a raw socket for exact bytes.</summary>
internal static class SmtpClients
{
    public static async Task<string> SendWithMailKitAsync(int port, MimeMessage message, string? user = RelayStack.Account,
        string password = RelayStack.Password, IEnumerable<string>? recipients = null)
    {
        using var client = new SmtpClient { Timeout = 60_000 };
        await client.ConnectAsync("127.0.0.1", port, SecureSocketOptions.None);
        if (user is not null)
        {
            await client.AuthenticateAsync(user, password);
        }
        var sender = message.From.Mailboxes.First();
        var rcpts = (recipients ?? message.GetRecipients().Select(r => r.Address)).Select(a => new MailboxAddress(null, a));
        var response = await client.SendAsync(message, sender, rcpts);
        await client.DisconnectAsync(quit: true);
        return response;
    }

    /// <summary>Connects with MailKit, completes the TLS handshake (optionally logs in and sends), and returns the certificate the server presented.</summary>
    public static async Task<X509Certificate2> HandshakeAsync(int port, SecureSocketOptions security, bool send = false)
    {
        X509Certificate2? presented = null;
        using var client = new SmtpClient { Timeout = 30_000 };
        client.ServerCertificateValidationCallback = (_, certificate, _, _) =>
        {
            presented = X509CertificateLoader.LoadCertificate(certificate!.GetRawCertData());
            return true;
        };
        await client.ConnectAsync("127.0.0.1", port, security);
        if (send)
        {
            await client.AuthenticateAsync(RelayStack.Account, RelayStack.Password);
            await client.SendAsync(SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com"));
        }
        await client.DisconnectAsync(quit: true);
        return presented ?? throw new InvalidOperationException("The server presented no certificate.");
    }

    public static MimeMessage Message(string from, string to, string subject = "Scan", string body = "Hello from the printer.")
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = body };
        return message;
    }

    /// <summary>
    /// A minimal SMTP client over a raw socket: sends each command, reads each reply, returns the reply lines. Used where
    /// the exact bytes on the wire matter.
    /// </summary>
    public sealed class Raw : IAsyncDisposable
    {
        private readonly TcpClient _tcp = new();
        private StreamReader _reader = null!;
        private Stream _stream = null!;

        /// <summary>The server's first reply: 220, or 421/554 when it turns the connection away.</summary>
        public string Greeting { get; private set; } = string.Empty;

        public static async Task<Raw> ConnectAsync(int port)
        {
            var raw = new Raw();
            await raw._tcp.ConnectAsync("127.0.0.1", port);
            raw._stream = raw._tcp.GetStream();
            raw._stream.ReadTimeout = 30_000;
            raw._reader = new StreamReader(raw._stream, Encoding.ASCII);
            raw.Greeting = await raw.ReadReplyAsync();
            return raw;
        }

        public async Task<string> SendAsync(string line) => await SendBytesAsync(Encoding.UTF8.GetBytes(line + "\r\n"));

        /// <summary>Writes without waiting for a reply (the middle of DATA, say).</summary>
        public async Task WriteAsync(string text) => await _stream.WriteAsync(Encoding.UTF8.GetBytes(text));

        public async Task<string> SendBytesAsync(byte[] bytes)
        {
            await _stream.WriteAsync(bytes);
            return await ReadReplyAsync();
        }

        /// <summary>Reads one reply; returns its last line.</summary>
        public async Task<string> ReadReplyAsync()
        {
            while (true)
            {
                var line = await _reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30))
                    ?? throw new IOException("Connection closed by the server.");
                if (line.Length < 4 || line[3] != '-')
                {
                    return line;
                }
            }
        }

        public ValueTask DisposeAsync()
        {
            _tcp.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
