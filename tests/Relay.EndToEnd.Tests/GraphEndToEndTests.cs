using System.Text;
using MailKit.Net.Smtp;
using MimeKit;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>SMTP in, gRPC across, Microsoft Graph (the fake cloud over HTTPS on loopback) out.</summary>
public class GraphEndToEndTests
{
    [Fact]
    public async Task Base64MimeArrivesAtTheFromMailboxWithABearerToken()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud);
        var message = SmtpClients.Message("Scanner <scanner@contoso.com>", "alice@fabrikam.com", "Invoice", "See attachment.");

        var response = await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, message);

        var sent = Assert.Single(cloud.SentMail);
        Assert.Equal("scanner@contoso.com", sent.Mailbox);
        Assert.Equal(SendMailFormat.Mime, sent.Format);
        Assert.False(string.IsNullOrEmpty(sent.BearerToken));
        var request = cloud.Requests.Single(r => r.Path.EndsWith("/sendMail", StringComparison.Ordinal));
        Assert.Equal("/v1.0/users/scanner@contoso.com/sendMail", request.Path);
        Assert.StartsWith("text/plain", request.Headers["Content-Type"], StringComparison.Ordinal);
        var delivered = MimeMessage.Load(new MemoryStream(sent.Mime!));
        Assert.Equal("Invoice", delivered.Subject);
        Assert.Equal(message.MessageId, delivered.MessageId);
        Assert.Contains("by relay.test (Relay) with ESMTPA", delivered.Headers[HeaderId.Received] ?? string.Empty, StringComparison.Ordinal);
        Assert.StartsWith("2.0.0 Ok: queued as ", response, StringComparison.Ordinal);
        Assert.Contains(stack.Logs, line => line.Contains($"Graph request-id {sent.RequestId}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ABccOnlyRecipientIsDeliveredAsBccAndNowhereElse()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud);
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Scanner", "scanner@contoso.com"));
        message.To.Add(new MailboxAddress("Alice Example", "alice@fabrikam.com"));
        message.Cc.Add(new MailboxAddress("Carol", "CAROL@fabrikam.com"));
        message.Subject = "Minutes";
        message.Body = new TextPart("plain") { Text = "Attached." };

        await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, message,
            recipients: ["alice@fabrikam.com", "carol@fabrikam.com", "bob@fabrikam.com"]);

        var delivered = MimeMessage.Load(new MemoryStream(Assert.Single(cloud.SentMail).Mime!));
        Assert.Equal(["bob@fabrikam.com"], delivered.Bcc.Mailboxes.Select(m => m.Address));
        Assert.Equal(["alice@fabrikam.com"], delivered.To.Mailboxes.Select(m => m.Address));
        Assert.Equal(["CAROL@fabrikam.com"], delivered.Cc.Mailboxes.Select(m => m.Address));
    }

    [Fact]
    public async Task TheClientHears250OnlyAfterGraphAnswered202()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud);
        using var graphReached = new ManualResetEventSlim();
        using var releaseGraph = new ManualResetEventSlim();
        cloud.SendMailFault = _ =>
        {
            graphReached.Set();
            releaseGraph.Wait(TimeSpan.FromSeconds(30));
            return null;
        };

        var sending = SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com"));
        Assert.True(await Task.Run(() => graphReached.Wait(TimeSpan.FromSeconds(30))), "Graph was never called");
        await Task.Delay(200);
        Assert.False(sending.IsCompleted, "The client was answered before Graph answered");
        releaseGraph.Set();

        Assert.StartsWith("2.0.0", await sending, StringComparison.Ordinal);
        Assert.Single(cloud.SentMail);
    }

    [Theory]
    [InlineData(400, "ErrorInvalidRecipients", 550, "5.1.1")]
    [InlineData(400, "ErrorMimeContentInvalid", 554, "5.6.0")]
    [InlineData(403, "ErrorSendAsDenied", 550, "5.7.1")]
    [InlineData(503, "ErrorServerBusy", 451, "4.4.2")]
    [InlineData(429, "ApplicationThrottled", 451, "4.4.2")]
    [InlineData(404, "MailboxNotEnabledForRESTAPI", 550, "5.1.8")]
    [InlineData(400, "ErrorMessageSizeExceeded", 552, "5.3.4")]
    [InlineData(413, "RequestEntityTooLarge", 552, "5.3.4")]
    [InlineData(400, "ErrorQuotaExceeded", 452, "4.2.2")]
    [InlineData(500, "ErrorSubmissionQuotaExceeded", 452, "4.5.3")]
    [InlineData(403, "ErrorAccessDenied", 550, "5.7.1")]
    public async Task GraphErrorsBecomeTheMappedSmtpReply(int status, string code, int smtpCode, string enhanced)
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        // 429 and 503 are retried until the budget runs out: a short one keeps the test short.
        await using var stack = await RelayStack.StartAsync(cloud, senderSettings: new Dictionary<string, string?>
        {
            ["Graph:RetryBudget"] = "00:00:02",
            ["Graph:RetryBaseDelay"] = "00:00:00.100",
        });
        cloud.SendMailFault = _ => new GraphFault(status, code, "injected by the test");

        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() =>
            SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com")));

        Assert.Equal(smtpCode, (int)refused.StatusCode);
        Assert.StartsWith(enhanced, refused.Message, StringComparison.Ordinal);
        Assert.Empty(cloud.SentMail);
    }

    [Fact]
    public async Task AWrongAppSecretIsATemporaryFailureThatNamesNoSecret()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, senderSettings: new Dictionary<string, string?>
        {
            ["Graph:ClientSecret"] = "expired-secret-value",
        });

        var deferred = await Assert.ThrowsAsync<SmtpCommandException>(() =>
            SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com")));

        Assert.Equal(454, (int)deferred.StatusCode);
        Assert.Contains(stack.Logs, line => line.Contains("AADSTS7000215", StringComparison.Ordinal));
        Assert.DoesNotContain(stack.Logs, line => line.Contains("expired-secret-value", StringComparison.Ordinal));
    }

    [Fact]
    public async Task NoPasswordSecretOrBodyEverReachesTheLogs()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud);
        const string bodyMarker = "confidential-body-marker-7731";

        await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com", body: bodyMarker));
        using var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", stack.SmtpPort, MailKit.Security.SecureSocketOptions.None);
        await Assert.ThrowsAsync<MailKit.Security.AuthenticationException>(() => client.AuthenticateAsync(RelayStack.Account, "wrong-password-9931"));

        var forbidden = new[]
        {
            RelayStack.Password, "wrong-password-9931", "relay-app-secret-value", bodyMarker,
            Convert.ToBase64String(Encoding.UTF8.GetBytes(RelayStack.Password)), Assert.Single(cloud.SentMail).BearerToken,
        };
        Assert.NotEmpty(stack.Logs);
        foreach (var secret in forbidden)
        {
            Assert.DoesNotContain(stack.Logs, line => line.Contains(secret, StringComparison.Ordinal));
        }
    }
}
