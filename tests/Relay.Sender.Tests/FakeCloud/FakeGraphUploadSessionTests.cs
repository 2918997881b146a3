using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Relay.Testing;
using static Relay.Sender.Tests.FakeCloud.FakeGraphClients;

namespace Relay.Sender.Tests.FakeCloud;

/// <summary>Attachment upload sessions over raw HTTP: createUploadSession, PUTs of ranges to the pre-authenticated URL, DELETE.</summary>
public sealed class FakeGraphUploadSessionTests
{
    private const string Mailbox = "relay@contoso.com";
    private const int MiB = 1024 * 1024;

    [Fact]
    public async Task CreateUploadSessionAcceptsTheAttachmentItemInAnyCaseAndAnswersGraphsShape()
    {
        await using var draft = await NewDraftAsync();
        var (cloud, token, http, id) = (draft.Cloud, draft.Token, draft.Http, draft.Id);

        using var response = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages/{id}/attachments/createUploadSession", token,
            Json("""{"attachmentItem":{"AttachmentType":"File","Name":"scan.pdf","Size":5000000,"IsInline":true,"ContentId":"scan"}}""")));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var session = await JsonAsync(response);
        Assert.Equal(["@odata.context", "uploadUrl", "expirationDateTime", "nextExpectedRanges"], session.EnumerateObject().Select(property => property.Name));
        Assert.Equal(["0-"], session.GetProperty("nextExpectedRanges").EnumerateArray().Select(range => range.GetString()));
        var uploadUrl = new Uri(session.GetProperty("uploadUrl").GetString()!);
        Assert.Equal(cloud.UploadHost, uploadUrl.Host);
        Assert.Matches(@"^/api/v2\.0/Users\('[^']+'\)/Messages\('[^']+'\)/AttachmentSessions\('[^']+'\)$", uploadUrl.AbsolutePath);
        Assert.StartsWith("?authtoken=", uploadUrl.Query, StringComparison.Ordinal);
        Assert.True(session.GetProperty("expirationDateTime").GetDateTimeOffset() > DateTimeOffset.UtcNow);
        Assert.Equal(1, Assert.Single(cloud.Drafts).OpenUploadSessions);
    }

    /// <summary>The upload host can be set: upload URLs and the final Location name it, and uploads through it succeed.</summary>
    [Fact]
    public async Task UploadUrlsNameTheUploadHostSetOnTheFakeAndUploadsThroughItSucceed()
    {
        await using var draft = await NewDraftAsync();
        Assert.Equal("localhost", draft.Cloud.UploadHost); // the default: a name every resolver knows, not Graph's host
        draft.Cloud.UploadHost = "127.0.0.1";              // another host the fake's certificate covers
        var (file, uploadUrl) = await NewSessionAsync(draft, 3 * MiB + 7);

        using var last = await PutAsync(draft.Http, uploadUrl, file, 0, file.Length);

        Assert.Equal("127.0.0.1", new Uri(uploadUrl).Host);
        Assert.Equal(HttpStatusCode.Created, last.StatusCode);
        Assert.Equal("127.0.0.1", last.Headers.Location?.Host);
        Assert.Equal(file, Assert.Single(Assert.Single(draft.Cloud.Drafts).Attachments).Content);
    }

    [Fact]
    public async Task ChunksGetNextExpectedRangesThenTheLastGets201WithALocation()
    {
        await using var draft = await NewDraftAsync();
        var (cloud, token, http, id) = (draft.Cloud, draft.Token, draft.Http, draft.Id);
        var (file, uploadUrl) = await NewSessionAsync(draft, 5 * MiB + 123);

        using var first = await PutAsync(http, uploadUrl, file, 0, 4 * MiB);
        using var last = await PutAsync(http, uploadUrl, file, 4 * MiB, file.Length - 4 * MiB);
        using var afterwards = await PutAsync(http, uploadUrl, file, 4 * MiB, file.Length - 4 * MiB);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var progress = await JsonAsync(first);
        // Outlook's own spelling: "ExpirationDateTime" capitalized, and the next offset without a dash.
        Assert.True(progress.GetProperty("ExpirationDateTime").GetDateTimeOffset() > DateTimeOffset.UtcNow);
        Assert.Equal(["4194304"], progress.GetProperty("nextExpectedRanges").EnumerateArray().Select(range => range.GetString()));
        Assert.Equal(HttpStatusCode.Created, last.StatusCode);
        Assert.Empty(await last.Content.ReadAsByteArrayAsync());
        Assert.Equal(cloud.UploadHost, last.Headers.Location?.Host);
        Assert.Matches(@"/Attachments\('[^']+'\)$", last.Headers.Location?.AbsolutePath);
        Assert.Equal(HttpStatusCode.NotFound, afterwards.StatusCode);
        var attachment = Assert.Single(Assert.Single(cloud.Drafts).Attachments);
        Assert.Equal(("scan.pdf", "application/octet-stream", true), (attachment.Name, attachment.ContentType, attachment.Uploaded));
        Assert.Equal(file, attachment.Content);
        Assert.Contains(attachment.Id, last.Headers.Location!.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, Assert.Single(cloud.Drafts).OpenUploadSessions);
    }

    [Fact]
    public async Task AChunkThatIsNotTheNextExpectedRangeIs416()
    {
        await using var draft = await NewDraftAsync();
        var (cloud, token, http, id) = (draft.Cloud, draft.Token, draft.Http, draft.Id);
        var (file, uploadUrl) = await NewSessionAsync(draft, 6 * MiB);

        using var skipped = await PutAsync(http, uploadUrl, file, 2 * MiB, 2 * MiB);
        using var first = await PutAsync(http, uploadUrl, file, 0, 2 * MiB);
        using var repeated = await PutAsync(http, uploadUrl, file, 0, 2 * MiB);

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, skipped.StatusCode);
        var outOfOrder = await ErrorAsync(skipped);
        Assert.Equal(("invalidRange", "Uploaded fragment is out of order."), (outOfOrder.GetProperty("code").GetString(), outOfOrder.GetProperty("message").GetString()));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, repeated.StatusCode);
        Assert.Equal("Uploaded fragment overlaps with existing data.", (await ErrorAsync(repeated)).GetProperty("message").GetString());
    }

    [Fact]
    public async Task ChunksOver4MiBOrWithABadRangeAreRefused()
    {
        await using var draft = await NewDraftAsync();
        var (cloud, token, http, id) = (draft.Cloud, draft.Token, draft.Http, draft.Id);
        var (file, uploadUrl) = await NewSessionAsync(draft, 6 * MiB);

        using var tooLarge = await PutAsync(http, uploadUrl, file, 0, 4 * MiB + 1);
        using var wrongTotal = await PutAsync(http, uploadUrl, file, 0, MiB, total: file.Length + 1);
        using var lengthMismatch = await PutAsync(http, uploadUrl, file, 0, MiB, contentRange: $"bytes 0-{2 * MiB - 1}/{file.Length}");
        using var noRange = await PutAsync(http, uploadUrl, file, 0, MiB, contentRange: "");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, wrongTotal.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, lengthMismatch.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, noRange.StatusCode);
        Assert.Empty(Assert.Single(cloud.Drafts).Attachments);
    }

    [Fact]
    public async Task TheUploadUrlIsPreAuthenticatedAndRefusesAnAuthorizationHeader()
    {
        await using var draft = await NewDraftAsync();
        var (cloud, token, http, id) = (draft.Cloud, draft.Token, draft.Http, draft.Id);
        var (file, uploadUrl) = await NewSessionAsync(draft, 4 * MiB);

        using var withBearer = await PutAsync(http, uploadUrl, file, 0, file.Length, bearer: token);
        using var wrongAuthToken = await PutAsync(http, uploadUrl[..uploadUrl.IndexOf("?authtoken=", StringComparison.Ordinal)] + "?authtoken=forged", file, 0, file.Length);
        using var plain = await PutAsync(http, uploadUrl, file, 0, file.Length);

        Assert.Equal(HttpStatusCode.Unauthorized, withBearer.StatusCode);
        var audience = await ErrorAsync(withBearer);
        Assert.Equal(("InvalidAudience", "The audience claim value is invalid 'aud'."), (audience.GetProperty("code").GetString(), audience.GetProperty("message").GetString()));
        Assert.Equal(HttpStatusCode.Unauthorized, wrongAuthToken.StatusCode);
        Assert.Equal(HttpStatusCode.Created, plain.StatusCode);
    }

    [Fact]
    public async Task DeletingTheSessionCancelsTheUpload()
    {
        await using var draft = await NewDraftAsync();
        var (cloud, token, http, id) = (draft.Cloud, draft.Token, draft.Http, draft.Id);
        var (file, uploadUrl) = await NewSessionAsync(draft, 6 * MiB);
        using var first = await PutAsync(http, uploadUrl, file, 0, 3 * MiB);

        using var deleted = await http.SendAsync(Request(HttpMethod.Delete, uploadUrl, token: null));
        using var afterDelete = await PutAsync(http, uploadUrl, file, 3 * MiB, 3 * MiB);

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, afterDelete.StatusCode);
        var recorded = Assert.Single(cloud.Drafts);
        Assert.Empty(recorded.Attachments);
        Assert.Equal(0, recorded.OpenUploadSessions);
    }

    [Fact]
    public async Task ASessionIsRefusedUnder3MBAndBeyondTheMessageSizeLimit()
    {
        await using var draft = await NewDraftAsync();
        var (cloud, token, http, id) = (draft.Cloud, draft.Token, draft.Http, draft.Id);

        using var small = await CreateSessionResponseAsync(http, cloud, token, id, 2_999_999);
        cloud.MessageSizeLimit = 10 * MiB;
        using var large = await CreateSessionResponseAsync(http, cloud, token, id, 8 * MiB);

        Assert.Equal(HttpStatusCode.BadRequest, small.StatusCode);
        Assert.Equal("ErrorAttachmentSizeShouldNotBeLessThanMinimumSize", (await ErrorAsync(small)).GetProperty("code").GetString());
        // 8 MiB becomes 10.67 MiB of base64.
        Assert.Equal(HttpStatusCode.BadRequest, large.StatusCode);
        Assert.Equal("ErrorMessageSizeExceeded", (await ErrorAsync(large)).GetProperty("code").GetString());
    }

    [Fact]
    public async Task SendingWithAnUploadInProgressSendsWithoutItAndEndsTheSession()
    {
        await using var draft = await NewDraftAsync();
        var (cloud, token, http, id) = (draft.Cloud, draft.Token, draft.Http, draft.Id);
        var (file, uploadUrl) = await NewSessionAsync(draft, 6 * MiB);
        using var first = await PutAsync(http, uploadUrl, file, 0, 3 * MiB);

        using var sent = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages/{id}/send", token));
        using var late = await PutAsync(http, uploadUrl, file, 3 * MiB, 3 * MiB);

        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        Assert.Empty(Assert.Single(cloud.SentMail).Attachments);
        Assert.Equal(HttpStatusCode.NotFound, late.StatusCode);
    }

    [Fact]
    public async Task UploadChunksCountAgainstTheMailboxsConcurrencyLimit()
    {
        await using var draft = await NewDraftAsync();
        var (cloud, token, http, id) = (draft.Cloud, draft.Token, draft.Http, draft.Id);
        var (file, uploadUrl) = await NewSessionAsync(draft, 4 * MiB);
        using var held = new HeldRequests(cloud, count: 4, request => request.Operation == GraphOperation.CreateMessage);
        var drafts = Enumerable.Range(0, 4).Select(_ => CreateDraftAsync(http, cloud, token)).ToArray();
        await held.AllHeldAsync();

        using var throttled = await PutAsync(http, uploadUrl, file, 0, file.Length);
        held.Release();
        await Task.WhenAll(drafts);
        using var retried = await PutAsync(http, uploadUrl, file, 0, file.Length);

        Assert.Equal((HttpStatusCode)429, throttled.StatusCode);
        Assert.Equal("ApplicationThrottled", (await ErrorAsync(throttled)).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        Assert.Equal(4, cloud.PeakConcurrency(Mailbox));
    }

    /// <summary>A fake cloud with one draft in <c>Mailbox</c>, and the token and client to work on it.</summary>
    private static async Task<DraftFixture> NewDraftAsync()
    {
        var cloud = await StartAsync();
        var token = await AppTokenAsync(cloud);
        var http = Http(cloud);
        return new DraftFixture(cloud, token, http, await CreateDraftAsync(http, cloud, token));
    }

    /// <summary>Random content of <paramref name="size"/> bytes and an upload session for it on the draft.</summary>
    private static async Task<(byte[] File, string UploadUrl)> NewSessionAsync(DraftFixture draft, int size)
    {
        var file = RandomNumberGenerator.GetBytes(size);
        return (file, await CreateSessionAsync(draft.Http, draft.Cloud, draft.Token, draft.Id, file.Length));
    }

    private sealed record DraftFixture(FakeMicrosoftCloud Cloud, string Token, HttpClient Http, string Id) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await Cloud.DisposeAsync();
        }
    }

    private static async Task<string> CreateDraftAsync(HttpClient http, FakeMicrosoftCloud cloud, string token)
    {
        using var response = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages", token,
            Json("""{"subject":"Scan","toRecipients":[{"emailAddress":{"address":"someone@example.com"}}]}""")));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await JsonAsync(response)).GetProperty("id").GetString()!;
    }

    private static Task<HttpResponseMessage> CreateSessionResponseAsync(HttpClient http, FakeMicrosoftCloud cloud, string token, string id, long size) =>
        http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages/{id}/attachments/createUploadSession", token,
            Json($$$"""{"AttachmentItem":{"attachmentType":"file","name":"scan.pdf","size":{{{size}}},"isInline":false}}""")));

    private static async Task<string> CreateSessionAsync(HttpClient http, FakeMicrosoftCloud cloud, string token, string id, long size)
    {
        using var response = await CreateSessionResponseAsync(http, cloud, token, id, size);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await JsonAsync(response)).GetProperty("uploadUrl").GetString()!;
    }

    /// <summary>PUTs <paramref name="length"/> bytes of <paramref name="file"/> from <paramref name="start"/>, as Outlook's docs show.</summary>
    private static Task<HttpResponseMessage> PutAsync(HttpClient http, string uploadUrl, byte[] file, int start, int length,
        long? total = null, string? contentRange = null, string? bearer = null)
    {
        var content = new ByteArrayContent(file, start, length) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } };
        var request = Request(HttpMethod.Put, uploadUrl, bearer, content);
        contentRange ??= $"bytes {start}-{start + length - 1}/{total ?? file.Length}";
        if (contentRange.Length > 0)
        {
            content.Headers.TryAddWithoutValidation("Content-Range", contentRange);
        }
        return http.SendAsync(request);
    }
}
