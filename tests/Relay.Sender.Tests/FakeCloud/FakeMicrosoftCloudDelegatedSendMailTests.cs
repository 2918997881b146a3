using System.Collections.Concurrent;
using Azure.Identity;
using Microsoft.Graph;
using Microsoft.Graph.Me.SendMail;
using Microsoft.Graph.Models;
using Microsoft.Graph.Models.ODataErrors;
using Relay.Testing;
using static Relay.Sender.Tests.FakeCloud.FakeCloudClients;

namespace Relay.Sender.Tests.FakeCloud;

#pragma warning disable CS0618 // UsernamePasswordCredential is obsolete (no MFA); it is how delegated tokens are obtained here.

/// <summary>Which mailboxes a delegated or app-only token may send as, through the real Graph SDK.</summary>
public sealed class FakeMicrosoftCloudDelegatedSendMailTests
{
    private const string TenantId = "8d2f4b6a-0c1e-4d39-a5b7-c9e1f3a5b7d9";
    private const string ClientId = "1b3d5f7a-9c2e-4b80-8d1f-3a5c7e9b1d02";
    private const string AppSecret = "app~Secret_value";
    private const string User = "Printer@Contoso.com";
    private const string Password = "correct horse battery staple";
    private const string OtherMailbox = "ceo@contoso.com";

    [Fact]
    public async Task ADelegatedTokenSendsFromMeAndTheMailboxIsTheUsersUpn()
    {
        await using var cloud = await StartCloudAsync();
        using var graph = Graph(cloud, DelegatedCredential(cloud));

        await graph.Me.SendMail.PostAsync(new SendMailPostRequestBody { Message = Message() });

        var mail = Assert.Single(cloud.SentMail);
        Assert.Equal(User, mail.Mailbox);
        Assert.Equal(User, mail.Principal);
        Assert.True(mail.IsDelegated);
        Assert.Equal(202, cloud.Requests.Single(request => request.Path == "/v1.0/me/sendMail").StatusCode);
    }

    [Fact]
    public async Task ADelegatedTokenMaySendAsItsOwnUserByUpnInAnyCaseOrByObjectId()
    {
        await using var cloud = await StartCloudAsync();
        var objectId = cloud.RegisterUser(TenantId, User, Password);
        using var graph = Graph(cloud, DelegatedCredential(cloud));

        await SendMimeAsync(graph, User.ToLowerInvariant());
        await SendMimeAsync(graph, objectId);

        Assert.Equal([User.ToLowerInvariant(), objectId], cloud.SentMail.Select(mail => mail.Mailbox));
        Assert.All(cloud.SentMail, mail => Assert.Equal(User, mail.Principal));
    }

    [Fact]
    public async Task ADelegatedTokenSendingAsAnotherMailboxIsDeniedWithErrorSendAsDenied()
    {
        await using var cloud = await StartCloudAsync();
        var offered = new ConcurrentQueue<SendMailRequest>();
        cloud.SendMailFault = request =>
        {
            offered.Enqueue(request);
            return null;
        };
        using var graph = Graph(cloud, DelegatedCredential(cloud));

        var failure = await Assert.ThrowsAsync<ODataError>(() => SendMimeAsync(graph, OtherMailbox));

        Assert.Equal(403, failure.ResponseStatusCode);
        Assert.Equal("ErrorSendAsDenied", failure.Error?.Code);
        Assert.Equal(
            "The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account. Cannot submit message.",
            failure.Error?.Message);
        Assert.Empty(cloud.SentMail);
        Assert.Empty(offered);
    }

    [Fact]
    public async Task AnAppOnlyTokenSendsAsAnyMailboxAndIsRecordedAsTheApp()
    {
        await using var cloud = await StartCloudAsync();
        var offered = new ConcurrentQueue<SendMailRequest>();
        cloud.SendMailFault = request =>
        {
            offered.Enqueue(request);
            return null;
        };
        using var graph = Graph(cloud, AppCredential(cloud));

        await SendMimeAsync(graph, OtherMailbox);

        var mail = Assert.Single(cloud.SentMail);
        Assert.Equal(OtherMailbox, mail.Mailbox);
        Assert.Equal(ClientId, mail.Principal);
        Assert.False(mail.IsDelegated);
        var request = Assert.Single(offered);
        Assert.Equal(ClientId, request.Principal);
        Assert.False(request.IsDelegated);
    }

    [Fact]
    public async Task AnAppOnlyTokenCannotSendFromMe()
    {
        await using var cloud = await StartCloudAsync();
        using var graph = Graph(cloud, AppCredential(cloud));

        var failure = await Assert.ThrowsAsync<ODataError>(() => graph.Me.SendMail.PostAsync(new SendMailPostRequestBody { Message = Message() }));

        Assert.Equal(400, failure.ResponseStatusCode);
        Assert.Equal("BadRequest", failure.Error?.Code);
        Assert.Equal("/me request is only valid with delegated authentication flow.", failure.Error?.Message);
        Assert.Empty(cloud.SentMail);
    }

    private static async Task<FakeMicrosoftCloud> StartCloudAsync()
    {
        var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.RegisterApp(TenantId, ClientId, AppSecret);
        cloud.RegisterUser(TenantId, User, Password);
        return cloud;
    }

    private static UsernamePasswordCredential DelegatedCredential(FakeMicrosoftCloud cloud)
    {
        // A confidential app can use ROPC only with its secret, which UsernamePasswordCredential cannot send: a separate public client signs in.
        const string publicClientId = "5d7f9b1c-3e5a-4c92-9f3b-5c7e9a1c3e04";
        cloud.RegisterPublicClient(TenantId, publicClientId);
        return new UsernamePasswordCredential(User, Password, TenantId, publicClientId, Configure(cloud, new UsernamePasswordCredentialOptions()));
    }

    private static ClientSecretCredential AppCredential(FakeMicrosoftCloud cloud) =>
        new(TenantId, ClientId, AppSecret, Configure(cloud, new ClientSecretCredentialOptions()));

    private static Message Message() => new()
    {
        Subject = "Hello",
        Body = new ItemBody { ContentType = BodyType.Text, Content = "Hello from the relay." },
        ToRecipients = [new Recipient { EmailAddress = new EmailAddress { Address = "someone@example.com" } }],
    };
}
