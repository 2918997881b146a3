using System.Text;
using MailKit.Net.Smtp;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>What the reference relays got wrong about who may send: fallbacks, anonymous clients, sender lists.</summary>
public sealed class LoginPolicyEndToEndTests
{
    private static readonly Dictionary<string, string?> AnonymousAccount = new()
    {
        // The anonymous account exists, so a relay with the seed's bug would have something to fall back to.
        ["Identity:AnonymousAccount"] = RelayStack.Account,
    };

    [Fact]
    public async Task AnEmptyPasswordNeverFallsBackToAnotherIdentity()
    {
        await using var stack = await RelayStack.StartAsync(senderSettings: AnonymousAccount);
        await using var session = await SmtpClients.Raw.ConnectAsync(stack.SmtpPort);
        await session.SendAsync("EHLO printer.test");

        Assert.StartsWith("535 5.7.8", await session.SendAsync("AUTH PLAIN " + Base64($"\0{RelayStack.Account}\0")), StringComparison.Ordinal);
        Assert.StartsWith("535 5.7.8", await session.SendAsync("AUTH PLAIN " + Base64("\0\0")), StringComparison.Ordinal);
        Assert.StartsWith("334", await session.SendAsync("AUTH LOGIN " + Base64("nobody")), StringComparison.Ordinal);
        Assert.StartsWith("535 5.7.8", await session.SendAsync("="), StringComparison.Ordinal);

        Assert.StartsWith("530 5.7.0", await session.SendAsync("MAIL FROM:<scanner@contoso.com>"), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(stack.PickupDirectory));
    }

    [Fact]
    public async Task AnonymousMailFromOutsideTheAllowedNetworksIs530()
    {
        await using var stack = await RelayStack.StartAsync(senderSettings: AnonymousAccount,
            smtpSettings: new Dictionary<string, string?> { ["Smtp:Anonymous:AllowedNetworks:0"] = "10.0.0.0/8" });
        await using var session = await SmtpClients.Raw.ConnectAsync(stack.SmtpPort);
        await session.SendAsync("EHLO printer.test");

        Assert.StartsWith("530 5.7.0", await session.SendAsync("MAIL FROM:<scanner@contoso.com>"), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(stack.PickupDirectory));
    }

    [Fact]
    public async Task AnonymousMailFromAnAllowedNetworkSendsAsTheAnonymousAccountAndWithinItsSenders()
    {
        await using var stack = await RelayStack.StartAsync(senderSettings: AnonymousAccount,
            smtpSettings: new Dictionary<string, string?> { ["Smtp:Anonymous:AllowedNetworks:0"] = "127.0.0.0/8" });

        await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com"), user: null);
        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() =>
            SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("ceo@fabrikam.com", "alice@fabrikam.com"), user: null));

        Assert.Single(Directory.GetFiles(stack.PickupDirectory, "*.eml"));
        Assert.Equal(550, (int)refused.StatusCode);
        Assert.Contains($"Login '{RelayStack.Account}' may not send as <ceo@fabrikam.com>", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARelayAccountCannotUseAnEnvelopeSenderOutsideItsList()
    {
        await using var stack = await RelayStack.StartAsync();
        await using var session = await SmtpClients.Raw.ConnectAsync(stack.SmtpPort);
        await session.SendAsync("EHLO printer.test");
        await session.SendAsync("AUTH PLAIN " + Base64($"\0{RelayStack.Account}\0{RelayStack.Password}"));
        await session.SendAsync("MAIL FROM:<bounces@fabrikam.com>");
        await session.SendAsync("RCPT TO:<alice@fabrikam.com>");
        await session.SendAsync("DATA");

        var reply = await session.SendAsync("From: scanner@contoso.com\r\nTo: alice@fabrikam.com\r\nSubject: x\r\n\r\nbody\r\n.");

        Assert.StartsWith("550 5.7.1 Login 'printer' may not send as <bounces@fabrikam.com>", reply, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(stack.PickupDirectory));
    }

    [Fact]
    public async Task ARelayAccountCannotUseAFromHeaderOutsideItsListEvenBesideAnAllowedOne()
    {
        await using var stack = await RelayStack.StartAsync();

        var message = SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com");
        message.From.Add(new MimeKit.MailboxAddress("CEO", "ceo@fabrikam.com"));

        var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => SmtpClients.SendWithMailKitAsync(stack.SmtpPort, message));

        Assert.Equal(550, (int)refused.StatusCode);
        Assert.Contains("may not send as <ceo@fabrikam.com>", refused.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(stack.PickupDirectory));
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
}
