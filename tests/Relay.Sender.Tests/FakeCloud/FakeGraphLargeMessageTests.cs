using System.Security.Cryptography;
using System.Text;
using Azure.Identity;
using Microsoft.Graph;
using Microsoft.Graph.Models;
using Microsoft.Graph.Models.ODataErrors;
using Microsoft.Graph.Users.Item.Messages.Item.Attachments.CreateUploadSession;
using Microsoft.Kiota.Abstractions.Serialization;
using Relay.Testing;
using static Relay.Sender.Tests.FakeCloud.FakeCloudClients;
using static Relay.Sender.Tests.FakeCloud.FakeGraphClients;

namespace Relay.Sender.Tests.FakeCloud;

/// <summary>
/// Graph's large-message path against <see cref="FakeMicrosoftCloud"/>, driven by the real Microsoft.Graph 5.92 SDK:
/// create a draft, attach files (one POST, or an upload session filled by the SDK's LargeFileUploadTask), send.
/// </summary>
public sealed class FakeGraphLargeMessageTests
{
    private const string Mailbox = "relay@contoso.com";
    private const int MiB = 1024 * 1024;

    /// <summary>Under Outlook's 4 MB per request: the SDK's default slice (5 MiB) is not.</summary>
    private const int SliceSize = 3 * MiB;

    private static readonly Dictionary<string, ParsableFactory<IParsable>> ODataErrorMapping = new()
    {
        ["XXX"] = ODataError.CreateFromDiscriminatorValue,
    };

    [Fact]
    public async Task ATwentyMegabyteMessageWithAFifteenMegabyteAttachmentAndAnInlineImageArrivesComplete()
    {
        await using var cloud = await StartAsync();
        using var graph = Graph(cloud, AppCredential(cloud));
        var html = "<html><body><p>Scan attached.</p><img src=\"cid:logo@relay\"><pre>" + new string('x', 2 * MiB) + "</pre></body></html>";
        var logo = RandomNumberGenerator.GetBytes(60_000);
        var report = RandomNumberGenerator.GetBytes(2 * MiB);
        var scan = RandomNumberGenerator.GetBytes(15 * MiB);

        var draft = await graph.Users[Mailbox].Messages.PostAsync(new Message
        {
            Subject = "Scan from printer 7",
            Body = new ItemBody { ContentType = BodyType.Html, Content = html },
            ToRecipients = [Recipient("someone@example.com", "Someone")],
            CcRecipients = [Recipient("copy@example.com")],
            BccRecipients = [Recipient("hidden@example.com")],
            ReplyTo = [Recipient("helpdesk@contoso.com")],
            Importance = Importance.High,
            From = Recipient(Mailbox),
            InternetMessageHeaders = [new InternetMessageHeader { Name = "X-Relay-Queue-Id", Value = "42" }],
        });
        var inline = await graph.Users[Mailbox].Messages[draft!.Id].Attachments.PostAsync(new FileAttachment
        {
            Name = "logo.png", ContentType = "image/png", ContentBytes = logo, IsInline = true, ContentId = "logo@relay",
        });
        await graph.Users[Mailbox].Messages[draft.Id].Attachments.PostAsync(new FileAttachment
        {
            Name = "report.csv", ContentType = "text/csv", ContentBytes = report,
        });
        var session = await graph.Users[Mailbox].Messages[draft.Id].Attachments.CreateUploadSession.PostAsync(new CreateUploadSessionPostRequestBody
        {
            AttachmentItem = new AttachmentItem { AttachmentType = AttachmentType.File, Name = "scan.pdf", Size = scan.Length, ContentType = "application/pdf" },
        });
        var upload = await new LargeFileUploadTask<FileAttachment>(session!, new MemoryStream(scan), SliceSize, graph.RequestAdapter).UploadAsync();
        await graph.Users[Mailbox].Messages[draft.Id].Send.PostAsync();

        // What the SDK read back.
        Assert.True(draft.IsDraft);
        Assert.False(string.IsNullOrEmpty(draft.Id));
        Assert.Equal("Scan from printer 7", draft.Subject);
        Assert.Equal(BodyType.Html, draft.Body?.ContentType);
        Assert.Equal(Importance.High, draft.Importance);
        Assert.Equal("Someone", Assert.Single(draft.ToRecipients!).EmailAddress?.Name);
        var inlineAttachment = Assert.IsType<FileAttachment>(inline);
        Assert.Equal(logo.Length, inlineAttachment.Size);
        Assert.True(inlineAttachment.IsInline);
        Assert.Equal(["0-"], session!.NextExpectedRanges);
        Assert.StartsWith($"https://{cloud.UploadHost}:", session.UploadUrl, StringComparison.Ordinal);
        Assert.True(session.ExpirationDateTime > DateTimeOffset.UtcNow);
        Assert.True(upload.UploadSucceeded);
        Assert.Contains("/Attachments('", upload.Location?.ToString(), StringComparison.Ordinal);

        // What arrived.
        var sent = Assert.Single(cloud.SentMail);
        Assert.Equal(SendMailFormat.Draft, sent.Format);
        Assert.Equal(Mailbox, sent.Mailbox);
        Assert.Equal(draft.Id, sent.MessageId);
        Assert.Equal(ClientId, sent.Principal);
        var json = Assert.NotNull(sent.Json);
        Assert.Equal("Scan from printer 7", json.GetProperty("subject").GetString());
        Assert.Equal(html, json.GetProperty("body").GetProperty("content").GetString());
        Assert.Equal("hidden@example.com", json.GetProperty("bccRecipients")[0].GetProperty("emailAddress").GetProperty("address").GetString());
        Assert.Equal("X-Relay-Queue-Id", json.GetProperty("internetMessageHeaders")[0].GetProperty("name").GetString());
        Assert.Collection(sent.Attachments,
            attachment =>
            {
                Assert.Equal(("logo.png", "image/png", true, "logo@relay", false), (attachment.Name, attachment.ContentType, attachment.IsInline, attachment.ContentId, attachment.Uploaded));
                Assert.Equal(logo, attachment.Content);
            },
            attachment =>
            {
                Assert.Equal(("report.csv", "text/csv", false, false), (attachment.Name, attachment.ContentType, attachment.IsInline, attachment.Uploaded));
                Assert.Equal(report, attachment.Content);
            },
            attachment =>
            {
                Assert.Equal(("scan.pdf", "application/pdf", false, true), (attachment.Name, attachment.ContentType, attachment.IsInline, attachment.Uploaded));
                Assert.Equal(scan, attachment.Content);
            });
        Assert.InRange(html.Length + sent.Attachments.Sum(attachment => attachment.Content.Length), 19 * MiB, 21 * MiB);
        Assert.Empty(cloud.Drafts);

        // How the SDK uploaded: 3 MiB slices to the Outlook host, in order, with no Authorization header.
        var puts = cloud.Requests.Where(request => request.Method == "PUT").OrderBy(request => request.ReceivedAt).ToList();
        Assert.Equal(Enumerable.Repeat(SliceSize, 5), puts.Select(put => put.Body.Length));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"bytes {i * SliceSize}-{(i + 1) * SliceSize - 1}/{scan.Length}"), puts.Select(put => put.Headers["Content-Range"]));
        Assert.Equal([200, 200, 200, 200, 201], puts.Select(put => put.StatusCode));
        Assert.All(puts, put =>
        {
            Assert.Equal(cloud.UploadHost, put.Host);
            Assert.False(put.Headers.ContainsKey("Authorization"));
        });
        Assert.All(cloud.Requests.Where(request => request.Path.StartsWith("/v1.0/", StringComparison.Ordinal)),
            request => Assert.StartsWith("Bearer ", request.Headers["Authorization"], StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheSdksDefaultFiveMebibyteSliceIsRefusedWith413()
    {
        await using var cloud = await StartAsync();
        using var graph = Graph(cloud, AppCredential(cloud));
        var draft = await graph.Users[Mailbox].Messages.PostAsync(new Message { Subject = "Big", ToRecipients = [Recipient("someone@example.com")] });
        var scan = RandomNumberGenerator.GetBytes(6 * MiB);
        var session = await graph.Users[Mailbox].Messages[draft!.Id].Attachments.CreateUploadSession.PostAsync(new CreateUploadSessionPostRequestBody
        {
            AttachmentItem = new AttachmentItem { AttachmentType = AttachmentType.File, Name = "scan.pdf", Size = scan.Length },
        });

        var failure = await Assert.ThrowsAsync<ServiceException>(
            () => new LargeFileUploadTask<FileAttachment>(session!, new MemoryStream(scan), maxSliceSize: -1, graph.RequestAdapter).UploadAsync());

        Assert.Equal(413, failure.ResponseStatusCode);
        Assert.Contains("The maximum request length supported is 4MB.", failure.RawResponseBody, StringComparison.Ordinal);
        // The task tries a failed slice twice, then gives up.
        Assert.Equal([5 * MiB, 5 * MiB], cloud.Requests.Where(request => request.Method == "PUT").Select(put => put.Body.Length));
        Assert.Empty(Assert.Single(cloud.Drafts).Attachments);
    }

    [Fact]
    public async Task AChunkRefusedWith503AndRetryAfterIsRetriedByTheSdkAfterTheWait()
    {
        await using var cloud = await StartAsync();
        cloud.GraphFault = request => request is { Operation: GraphOperation.UploadChunk, Attempt: 2 } ? GraphFault.ServiceUnavailable(TimeSpan.FromSeconds(1)) : null;
        using var graph = Graph(cloud, AppCredential(cloud));
        var draft = await graph.Users[Mailbox].Messages.PostAsync(new Message { Subject = "Big", ToRecipients = [Recipient("someone@example.com")] });
        var scan = RandomNumberGenerator.GetBytes(7 * MiB);
        var session = await graph.Users[Mailbox].Messages[draft!.Id].Attachments.CreateUploadSession.PostAsync(new CreateUploadSessionPostRequestBody
        {
            AttachmentItem = new AttachmentItem { AttachmentType = AttachmentType.File, Name = "scan.pdf", Size = scan.Length },
        });

        var upload = await new LargeFileUploadTask<FileAttachment>(session!, new MemoryStream(scan), SliceSize, graph.RequestAdapter).UploadAsync();
        await graph.Users[Mailbox].Messages[draft.Id].Send.PostAsync();

        Assert.True(upload.UploadSucceeded);
        var puts = cloud.Requests.Where(request => request.Method == "PUT").OrderBy(request => request.ReceivedAt).ToList();
        Assert.Equal([200, 503, 200, 201], puts.Select(put => put.StatusCode));
        Assert.Equal(puts[1].Headers["Content-Range"], puts[2].Headers["Content-Range"]);
        Assert.True(puts[2].ReceivedAt - puts[1].CompletedAt >= TimeSpan.FromMilliseconds(950));
        Assert.Equal(scan, Assert.Single(Assert.Single(cloud.SentMail).Attachments).Content);
    }

    [Fact]
    public async Task AChunkWhoseConnectionDropsAfterItWasStoredFailsTheSdksUploadAndItsRetryOverlaps()
    {
        await using var cloud = await StartAsync();
        cloud.GraphFault = request => request is { Operation: GraphOperation.UploadChunk, Attempt: 2 } ? GraphFault.DropConnectionAfterHandling() : null;
        using var graph = Graph(cloud, AppCredential(cloud));
        var draft = await graph.Users[Mailbox].Messages.PostAsync(new Message { Subject = "Big", ToRecipients = [Recipient("someone@example.com")] });
        var scan = RandomNumberGenerator.GetBytes(7 * MiB);
        var session = await graph.Users[Mailbox].Messages[draft!.Id].Attachments.CreateUploadSession.PostAsync(new CreateUploadSessionPostRequestBody
        {
            AttachmentItem = new AttachmentItem { AttachmentType = AttachmentType.File, Name = "scan.pdf", Size = scan.Length },
        });

        // The task retries only ServiceExceptions: a network failure ends the upload, though the fake kept the chunk.
        await Assert.ThrowsAsync<HttpRequestException>(
            () => new LargeFileUploadTask<FileAttachment>(session!, new MemoryStream(scan), SliceSize, graph.RequestAdapter).UploadAsync());
        var again = await Assert.ThrowsAsync<ServiceException>(
            () => new LargeFileUploadTask<FileAttachment>(session!, new MemoryStream(scan), SliceSize, graph.RequestAdapter).UploadAsync());

        Assert.Equal(416, again.ResponseStatusCode);
        Assert.Contains("Uploaded fragment overlaps with existing data.", again.RawResponseBody, StringComparison.Ordinal);
        Assert.Equal([200, 0, 416, 416], cloud.Requests.Where(request => request.Method == "PUT").OrderBy(request => request.ReceivedAt).Select(put => put.StatusCode));
    }

    [Fact]
    public async Task AMimeDraftCanBeCreatedThroughTheSdkAndSent()
    {
        await using var cloud = await StartAsync();
        using var graph = Graph(cloud, AppCredential(cloud));
        var request = graph.Users[Mailbox].Messages.ToPostRequestInformation(new Message());
        request.Headers.Clear();
        request.SetStreamContent(new MemoryStream(Encoding.ASCII.GetBytes(Convert.ToBase64String(SampleMime))), "text/plain");

        var draft = await graph.RequestAdapter.SendAsync(request, Message.CreateFromDiscriminatorValue, ODataErrorMapping);
        await graph.Users[Mailbox].Messages[draft!.Id].Send.PostAsync();

        var sent = Assert.Single(cloud.SentMail);
        Assert.Equal(SendMailFormat.Draft, sent.Format);
        Assert.Equal(SampleMime, sent.Mime);
        Assert.Null(sent.Json);
    }

    [Fact]
    public async Task ADelegatedTokenDraftsAndSendsFromMeButNotFromAnotherMailbox()
    {
        await using var cloud = await StartAsync();
        const string user = "Printer@Contoso.com";
        const string publicClientId = "7e9a1c3e-5b7d-4f91-a3c5-7e9b1d3f5a06";
        cloud.RegisterUser(TenantId, user, "a password");
        cloud.RegisterPublicClient(TenantId, publicClientId);
#pragma warning disable CS0618 // UsernamePasswordCredential is obsolete (no MFA); it is how delegated tokens are obtained here.
        var credential = new UsernamePasswordCredential(user, "a password", TenantId, publicClientId, Configure(cloud, new UsernamePasswordCredentialOptions()));
#pragma warning restore CS0618
        using var graph = Graph(cloud, credential);

        var draft = await graph.Me.Messages.PostAsync(new Message { Subject = "Mine", ToRecipients = [Recipient("someone@example.com")] });
        await graph.Me.Messages[draft!.Id].Send.PostAsync();
        var denied = await Assert.ThrowsAsync<ODataError>(() => graph.Users["ceo@contoso.com"].Messages.PostAsync(new Message { Subject = "Not mine" }));

        var sent = Assert.Single(cloud.SentMail);
        Assert.Equal(user, sent.Mailbox);
        Assert.Equal(user, sent.Principal);
        Assert.True(sent.IsDelegated);
        Assert.Equal(403, denied.ResponseStatusCode);
        Assert.Equal("ErrorAccessDenied", denied.Error?.Code);
    }

    private static Recipient Recipient(string address, string? name = null) =>
        new() { EmailAddress = new EmailAddress { Address = address, Name = name } };
}
