using System.Text;
using MailKit.Net.Smtp;
using MimeKit;

namespace Relay.EndToEnd.Tests;

/// <summary>SMTP in, gRPC across, a pickup .eml out — both services on real loopback sockets.</summary>
public class PickupEndToEndTests
{
    [Fact]
    public async Task MailKitMessageArrivesInThePickupFolderWithRelaysReceivedLineOnTop()
    {
        await using var stack = await RelayStack.StartAsync();
        var message = SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com", "Quarterly scan", "Pages attached.\r\n.A line with a leading dot");

        var response = await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, message);

        var file = Assert.Single(Directory.GetFiles(stack.PickupDirectory, "*.eml"));
        var queueId = Path.GetFileNameWithoutExtension(file);
        Assert.Contains($"queued as {queueId}", response, StringComparison.Ordinal);
        var stored = await MimeMessage.LoadAsync(file);
        Assert.Equal("Quarterly scan", stored.Subject);
        Assert.Equal("Pages attached.\n.A line with a leading dot", stored.TextBody?.ReplaceLineEndings("\n").TrimEnd());
        var received = stored.Headers[HeaderId.Received] ?? string.Empty;
        Assert.Contains($"by relay.test (Relay) with ESMTPA id {queueId}", received, StringComparison.Ordinal);
        Assert.Contains("for <alice@fabrikam.com>", received, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThePickupFileIsTheSentMessageByteForByteBelowTheReceivedLine()
    {
        await using var stack = await RelayStack.StartAsync();
        const string original =
            "From: Scanner <scanner@contoso.com>\r\nTo: alice@fabrikam.com\r\nSubject: =?iso-8859-2?Q?Sz=E1mla?=\r\n" +
            "Content-Type: text/plain; charset=iso-8859-2\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
            ".leading dot\r\n\r\nlast line without break after it";
        var stuffed = original.Replace("\r\n.", "\r\n..", StringComparison.Ordinal);
        await using var client = await SmtpClients.Raw.ConnectAsync(stack.SmtpPort);
        await client.SendAsync("EHLO raw.test");
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{RelayStack.Account}\0{RelayStack.Password}"));
        Assert.StartsWith("235 ", await client.SendAsync($"AUTH PLAIN {auth}"), StringComparison.Ordinal);
        await client.SendAsync("MAIL FROM:<scanner@contoso.com> BODY=8BITMIME");
        await client.SendAsync("RCPT TO:<alice@fabrikam.com>");
        Assert.StartsWith("354 ", await client.SendAsync("DATA"), StringComparison.Ordinal);
        var bytes = Encoding.Latin1.GetBytes(stuffed + "\r\n.\r\n");
        Assert.StartsWith("250 2.0.0", await client.SendBytesAsync(bytes), StringComparison.Ordinal);

        var file = await File.ReadAllBytesAsync(Assert.Single(Directory.GetFiles(stack.PickupDirectory, "*.eml")));
        var text = Encoding.Latin1.GetString(file);
        var below = text[(text.IndexOf("\r\nFrom: Scanner", StringComparison.Ordinal) + 2)..];
        Assert.Equal(original + "\r\n", below);
        Assert.StartsWith("X-Sender: <scanner@contoso.com>\r\nX-Receiver: <alice@fabrikam.com>\r\nReceived: from raw.test ([127.0.0.1])", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWrongPasswordIs535AndTheSessionCanStillLogIn()
    {
        await using var stack = await RelayStack.StartAsync();
        using var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", stack.SmtpPort, MailKit.Security.SecureSocketOptions.None);

        var wrong = await Assert.ThrowsAsync<MailKit.Security.AuthenticationException>(() => client.AuthenticateAsync(RelayStack.Account, "guess"));
        Assert.Contains("535", wrong.Message + wrong.InnerException?.Message, StringComparison.Ordinal);
        await client.AuthenticateAsync(RelayStack.Account, RelayStack.Password);
        await client.SendAsync(SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com"));

        Assert.Single(Directory.GetFiles(stack.PickupDirectory, "*.eml"));
    }

    [Fact]
    public async Task AnAccountCannotSendAsAnAddressOutsideItsAllowedSenders()
    {
        await using var stack = await RelayStack.StartAsync();

        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() =>
            SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("ceo@fabrikam.com", "alice@fabrikam.com")));

        Assert.Equal(SmtpStatusCode.MailboxUnavailable, refused.StatusCode);
        Assert.Contains("may not send as <ceo@fabrikam.com>", refused.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(stack.PickupDirectory));
    }

    [Fact]
    public async Task AnUnreachableSenderMeansTryAgainLaterNeverAcceptance()
    {
        await using var stack = await RelayStack.StartAsync(smtpSettings: new Dictionary<string, string?>
        {
            ["Smtp:Anonymous:AllowedNetworks:0"] = "127.0.0.0/8",
        });
        await stack.Sender.StopAsync();

        var deferred = await Assert.ThrowsAsync<SmtpCommandException>(() =>
            SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com"), user: null));

        Assert.Equal(451, (int)deferred.StatusCode);
        await using var login = await SmtpClients.Raw.ConnectAsync(stack.SmtpPort);
        await login.SendAsync("EHLO printer");
        var plain = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"\0{RelayStack.Account}\0{RelayStack.Password}"));
        Assert.StartsWith("454 4.7.0", await login.SendAsync($"AUTH PLAIN {plain}"), StringComparison.Ordinal);
    }
}
