using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// Mailbox logins (a user's UPN and password) over real SMTP: Relay's app signs the user in with ROPC against the fake
/// Entra ID (userrealm first, as MSAL does) and Graph is called with the user's delegated token.
/// </summary>
public sealed class MailboxLoginEndToEndTests
{
    public const string User = "alice@contoso.com";
    public const string UserPassword = "Alice's own password 42";

    private static async Task<(FakeMicrosoftCloud Cloud, RelayStack Stack)> StartAsync(
        UserSignInBlock block = UserSignInBlock.None, params (string Key, string Value)[] settings)
    {
        var cloud = await FakeMicrosoftCloud.StartAsync();
        try
        {
            // Relay's own app registration signs users in as a confidential client, with its secret: no public client flows.
            cloud.RegisterApp(RelayStack.GraphTenantId, RelayStack.GraphClientId, RelayStack.GraphClientSecret);
            cloud.RegisterUser(RelayStack.GraphTenantId, User, UserPassword, block);
            var sender = new Dictionary<string, string?> { ["Identity:MailboxLogins:Enabled"] = "true" };
            foreach (var (key, value) in settings)
            {
                sender[key] = value;
            }
            return (cloud, await RelayStack.StartAsync(cloud, sender, new Dictionary<string, string?> { ["Smtp:MaxConnectionsPerAddress"] = "200" }));
        }
        catch
        {
            await cloud.DisposeAsync();
            throw;
        }
    }

    [Fact]
    public async Task AMailboxLoginSendsAsThatUserWithTheUsersOwnToken()
    {
        var (cloud, stack) = await StartAsync();
        await using var _ = cloud;
        await using var __ = stack;

        var reply = await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message($"Alice <{User}>", "bob@example.com"),
            user: User, password: UserPassword);

        Assert.StartsWith("2.0.0", reply, StringComparison.Ordinal);
        var sent = Assert.Single(cloud.SentMail);
        Assert.Equal(User, sent.Mailbox);
        Assert.True(sent.IsDelegated);
        Assert.Equal(User, sent.Principal);
        Assert.Equal(1, cloud.TokenRequestCountFor(User));
    }

    [Fact]
    public async Task WithAPublicClientAppForMailboxLoginsMsalAsksUserRealmFirstAndSendsNoSecret()
    {
        const string publicClient = "33333333-3333-3333-3333-333333333333";
        var (cloud, stack) = await StartAsync(settings: ("Identity:MailboxLogins:ClientId", publicClient));
        await using var _ = cloud;
        await using var __ = stack;
        cloud.RegisterPublicClient(RelayStack.GraphTenantId, publicClient);

        await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message(User, "bob@example.com"), user: User, password: UserPassword);

        Assert.True(Assert.Single(cloud.SentMail).IsDelegated);
        Assert.Contains(cloud.Requests, request => request.Method == "GET" && request.Path == $"/common/userrealm/{User}");
        var grant = Assert.Single(cloud.Requests, request => request.Path.EndsWith("/oauth2/v2.0/token", StringComparison.Ordinal));
        var form = System.Text.Encoding.UTF8.GetString(grant.Body);
        Assert.Contains($"client_id={publicClient}", form, StringComparison.Ordinal);
        Assert.DoesNotContain("client_secret", form, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMailboxLoginSendsFromItsOwnMailboxWhateverTheMessageSays()
    {
        var (cloud, stack) = await StartAsync();
        await using var _ = cloud;
        await using var __ = stack;

        await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("ceo@contoso.com", "bob@example.com"),
            user: User, password: UserPassword);

        Assert.Equal(User, Assert.Single(cloud.SentMail).Mailbox);
    }

    [Fact]
    public async Task AWrongPasswordIs535WithoutSayingWhetherTheUserExists()
    {
        var (cloud, stack) = await StartAsync();
        await using var _ = cloud;
        await using var __ = stack;

        var wrong = await AppLoginEndToEndTests.AuthPlainAsync(stack.SmtpPort, User, "guess");
        var unknown = await AppLoginEndToEndTests.AuthPlainAsync(stack.SmtpPort, "nobody@contoso.com", "guess");

        Assert.StartsWith("535 5.7.8 Authentication failed: user name or password is wrong (AADSTS50126)", wrong, StringComparison.Ordinal);
        Assert.StartsWith("535 5.7.8 Authentication failed: user name or password is wrong", unknown, StringComparison.Ordinal);
        Assert.Empty(cloud.SentMail);
    }

    [Fact]
    public async Task AWrongPasswordIsRejectedWhileTheUsersTokenIsCached()
    {
        var (cloud, stack) = await StartAsync();
        await using var _ = cloud;
        await using var __ = stack;
        Assert.StartsWith("235", await AppLoginEndToEndTests.AuthPlainAsync(stack.SmtpPort, User, UserPassword), StringComparison.Ordinal);
        Assert.StartsWith("235", await AppLoginEndToEndTests.AuthPlainAsync(stack.SmtpPort, User, UserPassword), StringComparison.Ordinal);
        Assert.Equal(1, cloud.TokenRequestCountFor(User));

        var wrong = await AppLoginEndToEndTests.AuthPlainAsync(stack.SmtpPort, User, UserPassword + " ");

        Assert.StartsWith("535 5.7.8", wrong, StringComparison.Ordinal);
        Assert.Equal(2, cloud.TokenRequestCountFor(User));
    }

    [Fact]
    public async Task FiftyConcurrentLoginsOfOneUserMakeOneTokenRequest()
    {
        var (cloud, stack) = await StartAsync();
        await using var _ = cloud;
        await using var __ = stack;

        var replies = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => SmtpClients.SendWithMailKitAsync(stack.SmtpPort,
            SmtpClients.Message(User, $"user{i}@example.com"), user: User, password: UserPassword)));

        Assert.All(replies, reply => Assert.StartsWith("2.0.0", reply, StringComparison.Ordinal));
        Assert.Equal(50, cloud.SentMail.Count);
        Assert.Equal(1, cloud.TokenRequestCountFor(User));
    }

    [Theory]
    [InlineData(UserSignInBlock.MfaRequired, "534 5.7.9", "multi-factor authentication")]
    [InlineData(UserSignInBlock.ConditionalAccessBlocked, "534 5.7.9", "Conditional Access")]
    [InlineData(UserSignInBlock.PasswordExpired, "535 5.7.8", "password has expired")]
    [InlineData(UserSignInBlock.Disabled, "535 5.7.8", "disabled")]
    [InlineData(UserSignInBlock.Locked, "535 5.7.8", "locked")]
    public async Task ARightPasswordEntraStillRefusesIsAnsweredWithTheReason(UserSignInBlock block, string reply, string reason)
    {
        var (cloud, stack) = await StartAsync(block);
        await using var _ = cloud;
        await using var __ = stack;

        var answer = await AppLoginEndToEndTests.AuthPlainAsync(stack.SmtpPort, User, UserPassword);

        Assert.StartsWith(reply, answer, StringComparison.Ordinal);
        Assert.Contains(reason, answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AUserOutsideTheAllowedDomainsIsRefusedWithoutAskingEntra()
    {
        var (cloud, stack) = await StartAsync(settings: ("Identity:MailboxLogins:Domains:0", "fabrikam.com"));
        await using var _ = cloud;
        await using var __ = stack;

        var reply = await AppLoginEndToEndTests.AuthPlainAsync(stack.SmtpPort, User, UserPassword);

        Assert.StartsWith("535 5.7.8 Authentication failed: mailbox logins are accepted only for fabrikam.com", reply, StringComparison.Ordinal);
        Assert.Equal(0, cloud.TokenRequestCount);
    }

    [Fact]
    public async Task RelaysOwnAppStillSendsForRelayAccountsBesideMailboxLogins()
    {
        var (cloud, stack) = await StartAsync();
        await using var _ = cloud;
        await using var __ = stack;

        await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "bob@example.com"));
        await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message(User, "bob@example.com"), user: User, password: UserPassword);

        Assert.Equal([(RelayStack.GraphClientId, false), (User, true)], cloud.SentMail.Select(m => (m.Principal, m.IsDelegated)).ToArray());
    }
}
