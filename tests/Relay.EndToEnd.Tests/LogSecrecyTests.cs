using System.Text;
using MailKit.Net.Smtp;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// Runs every kind of login, good and bad, through both services with every log level on, then looks for each secret
/// that crossed Relay in any form a log line could hold it: as typed, in the base64 of an AUTH exchange, and as the
/// bearer tokens Graph received.
/// </summary>
public sealed class LogSecrecyTests
{
    private const string Body = "Quarterly figures: BODY-MARKER-7c1e";

    [Fact]
    public async Task NoPasswordSecretTokenOrBodyReachesAnyLogLine()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.RegisterApp(AppLoginEndToEndTests.Tenant, AppLoginEndToEndTests.Client, AppLoginEndToEndTests.Secret);
        cloud.RegisterUser(RelayStack.GraphTenantId, MailboxLoginEndToEndTests.User, MailboxLoginEndToEndTests.UserPassword);
        await using var stack = await RelayStack.StartAsync(cloud, new Dictionary<string, string?>
        {
            ["Identity:AppLogins:Enabled"] = "true",
            ["Identity:MailboxLogins:Enabled"] = "true",
        }, minimumLogLevel: Microsoft.Extensions.Logging.LogLevel.Trace);
        var appLogin = $"{AppLoginEndToEndTests.Tenant}@{AppLoginEndToEndTests.Client}";
        const string wrongPassword = "wrong-password-5d2a";
        const string wrongSecret = "wrong-app-secret-9f3b";
        const string wrongUserPassword = "wrong-user-password-4e8c";
        const string user = MailboxLoginEndToEndTests.User;
        const string userPassword = MailboxLoginEndToEndTests.UserPassword;

        await SendAsync(stack, RelayStack.Account, RelayStack.Password, "scanner@contoso.com");
        await SendAsync(stack, appLogin, AppLoginEndToEndTests.Secret, "erp@fabrikam.com");
        Assert.StartsWith("535", await AppLoginEndToEndTests.AuthPlainAsync(stack.SmtpPort, RelayStack.Account, wrongPassword), StringComparison.Ordinal);
        Assert.StartsWith("535", await AppLoginEndToEndTests.AuthPlainAsync(stack.SmtpPort, appLogin, wrongSecret), StringComparison.Ordinal);
        await SendAsync(stack, user, userPassword, user);
        Assert.StartsWith("535", await AppLoginEndToEndTests.AuthPlainAsync(stack.SmtpPort, user, wrongUserPassword), StringComparison.Ordinal);
        Assert.Equal(3, cloud.SentMail.Count);

        var secrets = new List<string>
        {
            RelayStack.Password, wrongPassword, RelayStack.GraphClientSecret, AppLoginEndToEndTests.Secret, wrongSecret,
            userPassword, wrongUserPassword, Body,
        };
        secrets.AddRange(secrets.ToArray().Select(secret => Convert.ToBase64String(Encoding.UTF8.GetBytes(secret))));
        secrets.AddRange(new[]
            {
                (RelayStack.Account, RelayStack.Password), (appLogin, AppLoginEndToEndTests.Secret), (appLogin, wrongSecret),
                (user, userPassword), (user, wrongUserPassword),
            }
            .Select(login => Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{login.Item1}\0{login.Item2}"))));
        secrets.AddRange(cloud.SentMail.Select(mail => mail.BearerToken));

        var logs = stack.Logs.ToArray();
        Assert.Contains(logs, line => line.StartsWith("Trace ", StringComparison.Ordinal));
        Assert.Contains(logs, line => line.Contains("AppCredential login", StringComparison.Ordinal));
        Assert.Contains(logs, line => line.Contains($"Mailbox login {user}", StringComparison.Ordinal));
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(logs, line => line.Contains(secret, StringComparison.Ordinal));
        }
    }

    private static async Task SendAsync(RelayStack stack, string user, string password, string from)
    {
        using var client = new SmtpClient { Timeout = 60_000 };
        await client.ConnectAsync("127.0.0.1", stack.SmtpPort, MailKit.Security.SecureSocketOptions.None);
        await client.AuthenticateAsync(user, password);
        await client.SendAsync(SmtpClients.Message(from, "alice@example.com", body: Body));
        await client.DisconnectAsync(quit: true);
    }
}
