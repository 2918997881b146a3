using System.Security.Cryptography.X509Certificates;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Relay.EndToEnd.Tests;

/// <summary>STARTTLS and implicit TLS over real sockets, with MailKit as the client.</summary>
public class TlsEndToEndTests
{
    [Fact]
    public async Task MailKitSendsOverStartTlsAndTheReceivedHeaderNamesTheTlsSession()
    {
        await using var stack = await RelayStack.StartAsync(tls: true);

        var presented = await SendAsync(stack, stack.SmtpPort, SecureSocketOptions.StartTls);

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

        var presented = await SendAsync(stack, stack.ImplicitTlsPort!.Value, SecureSocketOptions.SslOnConnect);

        Assert.Equal(stack.Certificate!.Thumbprint, presented.Thumbprint);
        Assert.Single(Directory.GetFiles(stack.PickupDirectory, "*.eml"));
    }

    private static async Task<X509Certificate2> SendAsync(RelayStack stack, int port, SecureSocketOptions security)
    {
        X509Certificate2? presented = null;
        using var client = new SmtpClient { Timeout = 60_000 };
        client.ServerCertificateValidationCallback = (_, certificate, _, _) =>
        {
            presented = X509CertificateLoader.LoadCertificate(certificate!.GetRawCertData());
            return true;
        };
        await client.ConnectAsync("127.0.0.1", port, security);
        await client.AuthenticateAsync(RelayStack.Account, RelayStack.Password);
        await client.SendAsync(SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com"));
        await client.DisconnectAsync(quit: true);
        return presented!;
    }
}
