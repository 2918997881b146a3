using System.Net;
using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.DependencyInjection;
using Relay.Sender.Identity.AppLogins;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// App-credential logins (<c>TENANT@CLIENT</c> + client secret, or <c>KEY@lookup</c>) over real SMTP, verified by a
/// client-credentials grant against the fake Entra ID and sent with that app's own token.
/// </summary>
public sealed class AppLoginEndToEndTests
{
    public const string Tenant = "6f1c3a52-8b0e-4a7d-9c2f-1e5d7b3a9f04";
    public const string Client = "0d6e8f2a-4c1b-4e3f-8a9d-7b2c5e1f3a60";
    public const string Secret = "app-login-secret~value";

    private static Dictionary<string, string?> AppLogins(params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?> { ["Identity:AppLogins:Enabled"] = "true" };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }
        return settings;
    }

    private static async Task<(FakeMicrosoftCloud Cloud, RelayStack Stack)> StartAsync(
        Dictionary<string, string?> senderSettings, Func<FakeMicrosoftCloud, (string Key, string Value)>? prepare = null)
    {
        var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.RegisterApp(Tenant, Client, Secret);
        try
        {
            if (prepare?.Invoke(cloud) is var (key, value))
            {
                senderSettings[key] = value;
            }
            return (cloud, await RelayStack.StartAsync(cloud, senderSettings, new Dictionary<string, string?> { ["Smtp:MaxConnectionsPerAddress"] = "200" },
                configureSender: builder => builder.Services.AddHttpClient(TableAppLogins.HttpClientName)
                    .ConfigurePrimaryHttpMessageHandler(cloud.CreateTrustingHandler)));
        }
        catch
        {
            await cloud.DisposeAsync();
            throw;
        }
    }

    [Theory]
    [InlineData($"{Tenant}@{Client}")]
    [InlineData($"{Tenant}|{Client}")]
    [InlineData("bxw6UosOSn2cLx5dezqfBA:DW6PKkwbTj-KnXssXh86YA.relay.contoso.com")]
    public async Task AnAppLoginSendsWithATokenIssuedToThatAppNotToRelay(string username)
    {
        var (cloud, stack) = await StartAsync(AppLogins());
        await using var _ = cloud;
        await using var __ = stack;

        var reply = await SmtpClients.SendWithMailKitAsync(stack.SmtpPort,
            SmtpClients.Message("ERP <erp@fabrikam.com>", "alice@example.com"), user: username, password: Secret);

        Assert.StartsWith("2.0.0", reply, StringComparison.Ordinal);
        var sent = Assert.Single(cloud.SentMail);
        Assert.Equal("erp@fabrikam.com", sent.Mailbox);
        Assert.Equal(1, TokenRequests(cloud, Client));
        Assert.Equal(0, TokenRequests(cloud, RelayStack.GraphClientId));
        Assert.Contains(stack.Logs, line => line.Contains($"AppCredential login {username}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AWrongSecretIs535AndSaysTheSecretIsWrong()
    {
        var (cloud, stack) = await StartAsync(AppLogins());
        await using var _ = cloud;
        await using var __ = stack;

        var reply = await AuthPlainAsync(stack.SmtpPort, $"{Tenant}@{Client}", "not-the-secret");

        Assert.StartsWith("535 5.7.8 Authentication failed: the client secret is wrong", reply, StringComparison.Ordinal);
        Assert.Contains("AADSTS7000215", reply, StringComparison.Ordinal);
        Assert.Empty(cloud.SentMail);
    }

    [Fact]
    public async Task AWrongSecretIsRejectedWhileTheRightSecretsTokenIsCached()
    {
        var (cloud, stack) = await StartAsync(AppLogins());
        await using var _ = cloud;
        await using var __ = stack;
        Assert.StartsWith("235", await AuthPlainAsync(stack.SmtpPort, $"{Tenant}@{Client}", Secret), StringComparison.Ordinal);
        Assert.StartsWith("235", await AuthPlainAsync(stack.SmtpPort, $"{Tenant}@{Client}", Secret), StringComparison.Ordinal);
        Assert.Equal(1, TokenRequests(cloud, Client));

        var wrong = await AuthPlainAsync(stack.SmtpPort, $"{Tenant}@{Client}", Secret + "x");

        Assert.StartsWith("535 5.7.8", wrong, StringComparison.Ordinal);
        Assert.Equal(2, TokenRequests(cloud, Client));
    }

    [Fact]
    public async Task FiftyConcurrentLoginsWithOneCredentialMakeOneTokenRequest()
    {
        var (cloud, stack) = await StartAsync(AppLogins());
        await using var _ = cloud;
        await using var __ = stack;

        var replies = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => SmtpClients.SendWithMailKitAsync(stack.SmtpPort,
            SmtpClients.Message("erp@fabrikam.com", $"user{i}@example.com"), user: $"{Tenant}@{Client}", password: Secret)));

        Assert.All(replies, reply => Assert.StartsWith("2.0.0", reply, StringComparison.Ordinal));
        Assert.Equal(50, cloud.SentMail.Count);
        Assert.Equal(1, TokenRequests(cloud, Client));
    }

    [Fact]
    public async Task ALookupKeyStandsForItsAppAndForcesItsMailbox()
    {
        var (cloud, stack) = await StartAsync(AppLogins(
            ("Identity:AppLogins:Lookup:floor2:TenantId", Tenant),
            ("Identity:AppLogins:Lookup:floor2:ClientId", Client),
            ("Identity:AppLogins:Lookup:floor2:From", "scanners@fabrikam.com")));
        await using var _ = cloud;
        await using var __ = stack;

        await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("device@fabrikam.com", "alice@example.com"),
            user: "floor2@lookup", password: Secret);

        Assert.Equal("scanners@fabrikam.com", Assert.Single(cloud.SentMail).Mailbox);
        Assert.Equal(1, TokenRequests(cloud, Client));
    }

    [Fact]
    public async Task ALookupKeyInTheAzureTableStandsForItsAppAndAnUnknownOneIsRefused()
    {
        var (cloud, stack) = await StartAsync(
            AppLogins(),
            cloud =>
            {
                cloud.CreateTable("RelayLogins");
                cloud.UpsertTableEntity("RelayLogins", "lookup", "copier-3", new Dictionary<string, string>
                {
                    ["TenantId"] = Tenant,
                    ["ClientId"] = Client,
                    ["From"] = "copiers@fabrikam.com",
                });
                return ("Identity:AppLogins:Table:ConnectionString", cloud.TableConnectionString);
            });
        await using var _ = cloud;
        await using var __ = stack;

        await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("device@fabrikam.com", "alice@example.com"),
            user: "copier-3@lookup", password: Secret);
        var unknown = await AuthPlainAsync(stack.SmtpPort, "copier-4@lookup", Secret);

        Assert.Equal("copiers@fabrikam.com", Assert.Single(cloud.SentMail).Mailbox);
        Assert.StartsWith("535 5.7.8", unknown, StringComparison.Ordinal);
        Assert.Equal(1, TokenRequests(cloud, Client));
    }

    [Fact]
    public async Task AnUnknownLookupKeyIs535WithoutAskingEntra()
    {
        var (cloud, stack) = await StartAsync(AppLogins(
            ("Identity:AppLogins:Lookup:floor2:TenantId", Tenant),
            ("Identity:AppLogins:Lookup:floor2:ClientId", Client)));
        await using var _ = cloud;
        await using var __ = stack;

        Assert.StartsWith("535 5.7.8", await AuthPlainAsync(stack.SmtpPort, "floor3@lookup", Secret), StringComparison.Ordinal);
        Assert.Equal(0, cloud.TokenRequestCount);
    }

    [Fact]
    public async Task WithRequireLookupADirectTenantAndClientLoginIsRefusedWithoutAskingEntra()
    {
        var (cloud, stack) = await StartAsync(AppLogins(
            ("Identity:AppLogins:RequireLookup", "true"),
            ("Identity:AppLogins:Lookup:floor2:TenantId", Tenant),
            ("Identity:AppLogins:Lookup:floor2:ClientId", Client)));
        await using var _ = cloud;
        await using var __ = stack;

        var reply = await AuthPlainAsync(stack.SmtpPort, $"{Tenant}@{Client}", Secret);

        Assert.StartsWith("535 5.7.8 Authentication failed: only KEY@lookup logins", reply, StringComparison.Ordinal);
        Assert.Equal(0, cloud.TokenRequestCount);
        Assert.StartsWith("235", await AuthPlainAsync(stack.SmtpPort, "floor2@lookup", Secret), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithAppLoginsOffAnAppShapedLoginIsJustAWrongLogin()
    {
        var (cloud, stack) = await StartAsync(new Dictionary<string, string?>());
        await using var _ = cloud;
        await using var __ = stack;

        Assert.StartsWith("535 5.7.8 Authentication credentials invalid", await AuthPlainAsync(stack.SmtpPort, $"{Tenant}@{Client}", Secret), StringComparison.Ordinal);
        Assert.Equal(0, cloud.TokenRequestCount);
    }

    [Fact]
    public async Task WhenEntraCannotBeReachedTheLoginIsToldToTryAgainLater()
    {
        var (cloud, stack) = await StartAsync(AppLogins(("Graph:AuthorityHost", $"https://127.0.0.1:{ClosedPort()}/")));
        await using var _ = cloud;
        await using var __ = stack;

        Assert.StartsWith("454 4.7.0", await AuthPlainAsync(stack.SmtpPort, $"{Tenant}@{Client}", Secret), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASecretRevokedAfterLoginStopsTheNextMessageWithAPermanentRefusal()
    {
        var (cloud, stack) = await StartAsync(AppLogins());
        await using var _ = cloud;
        await using var __ = stack;
        cloud.TokenLifetime = TimeSpan.FromSeconds(1);
        using var client = new SmtpClient { Timeout = 60_000 };
        await client.ConnectAsync("127.0.0.1", stack.SmtpPort, SecureSocketOptions.None);
        await client.AuthenticateAsync($"{Tenant}@{Client}", Secret);
        await client.SendAsync(SmtpClients.Message("erp@fabrikam.com", "alice@example.com"));

        cloud.RegisterApp(Tenant, Client, "a rotated secret");
        // The one-second token has expired, so the next message must sign in again, and the old secret no longer works.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(SmtpClients.Message("erp@fabrikam.com", "bob@example.com")));

        Assert.Equal(554, (int)refused.StatusCode);
        Assert.Contains("client secret is wrong", refused.Message, StringComparison.Ordinal);
        Assert.Single(cloud.SentMail);
    }

    /// <summary>Token requests that named <paramref name="clientId"/> in their form body.</summary>
    internal static int TokenRequests(FakeMicrosoftCloud cloud, string clientId) =>
        cloud.Requests.Count(r => r.Path.EndsWith("/oauth2/v2.0/token", StringComparison.Ordinal)
                                  && Form(r.Body).TryGetValue("client_id", out var id) && id == clientId);

    internal static async Task<string> AuthPlainAsync(int port, string username, string password)
    {
        await using var session = await SmtpClients.Raw.ConnectAsync(port);
        await session.SendAsync("EHLO device.test");
        return await session.SendAsync("AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{username}\0{password}")));
    }

    private static Dictionary<string, string> Form(byte[] body) =>
        Encoding.UTF8.GetString(body).Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .Where(pair => pair.Length == 2)
            .GroupBy(pair => WebUtility.UrlDecode(pair[0]))
            .ToDictionary(group => group.Key, group => WebUtility.UrlDecode(group.First()[1]));

    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
