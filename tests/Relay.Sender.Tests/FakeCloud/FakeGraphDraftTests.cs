using System.Net;
using System.Text.Json;
using Relay.Testing;
using static Relay.Sender.Tests.FakeCloud.FakeGraphClients;

namespace Relay.Sender.Tests.FakeCloud;

/// <summary>Drafts, one-request attachments and send over raw HTTP: Graph's exact shapes, keys in any case.</summary>
public sealed class FakeGraphDraftTests
{
    private const string Mailbox = "relay@contoso.com";
    private const int MiB = 1024 * 1024;

    [Fact]
    public async Task ADraftWithPascalCaseKeysIsCreatedAndAnsweredInCamelCase()
    {
        await using var cloud = await StartAsync();
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);
        const string posted = """
            {"Subject":"Hi","Body":{"ContentType":"HTML","Content":"<b>Hello</b>"},"Importance":"High",
             "ToRecipients":[{"EmailAddress":{"Address":"someone@example.com","Name":"Someone"}}],
             "From":{"EmailAddress":{"Address":"relay@contoso.com"}},
             "InternetMessageHeaders":[{"Name":"X-Relay","Value":"1"}]}
            """;

        using var response = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages", token, Json(posted)));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var message = await JsonAsync(response);
        var id = message.GetProperty("id").GetString();
        Assert.StartsWith("AAMkAD", id, StringComparison.Ordinal);
        Assert.True(message.GetProperty("isDraft").GetBoolean());
        Assert.False(message.GetProperty("hasAttachments").GetBoolean());
        Assert.Equal("Hi", message.GetProperty("subject").GetString());
        Assert.Equal("html", message.GetProperty("body").GetProperty("contentType").GetString());
        Assert.Equal("<b>Hello</b>", message.GetProperty("body").GetProperty("content").GetString());
        Assert.Equal("high", message.GetProperty("importance").GetString());
        Assert.Equal("someone@example.com", message.GetProperty("toRecipients")[0].GetProperty("emailAddress").GetProperty("address").GetString());
        Assert.Equal("relay@contoso.com", message.GetProperty("from").GetProperty("emailAddress").GetProperty("address").GetString());
        Assert.Equal(0, message.GetProperty("ccRecipients").GetArrayLength());
        Assert.EndsWith("/messages/$entity", message.GetProperty("@odata.context").GetString(), StringComparison.Ordinal);
        var draft = Assert.Single(cloud.Drafts);
        Assert.Equal((Mailbox, id), (draft.Mailbox, draft.MessageId));
        Assert.Equal("Hi", draft.Json!.Value.GetProperty("Subject").GetString());
        Assert.Equal(ClientId, draft.Principal);
    }

    [Theory]
    [InlineData(6, "X-Header", "InvalidInternetMessageHeaderCollection", "Maximum number of headers in one message should be less than or equal to 5.")]
    [InlineData(1, "Reply-To", "InvalidInternetMessageHeader", "The internet message header name 'Reply-To0' should start with 'x-' or 'X-'.")]
    public async Task InternetMessageHeadersAreCheckedAsExchangeDoes(int count, string name, string code, string message)
    {
        await using var cloud = await StartAsync();
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);
        var headers = string.Join(",", Enumerable.Range(0, count).Select(i => $"{{\"name\":\"{name}{i}\",\"value\":\"v\"}}"));

        using var response = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages", token,
            Json($"{{\"subject\":\"Hi\",\"internetMessageHeaders\":[{headers}]}}")));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorAsync(response);
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal(message, error.GetProperty("message").GetString());
        Assert.Empty(cloud.Drafts);
    }

    [Fact]
    public async Task AnAttachmentWithPascalCaseKeysIsAddedAndDescribedAsAFileAttachment()
    {
        await using var cloud = await StartAsync();
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);
        var id = await CreateDraftAsync(http, cloud, token);

        using var response = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages/{id}/attachments", token,
            Json("""{"@odata.type":"#microsoft.graph.fileAttachment","Name":"logo.png","ContentType":"image/png","ContentBytes":"iVBORw0KGgo=","IsInline":true,"ContentId":"logo"}""")));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var attachment = await JsonAsync(response);
        Assert.Equal("#microsoft.graph.fileAttachment", attachment.GetProperty("@odata.type").GetString());
        Assert.Equal(("logo.png", "image/png", 8, true, "logo"), (
            attachment.GetProperty("name").GetString(), attachment.GetProperty("contentType").GetString(), attachment.GetProperty("size").GetInt32(),
            attachment.GetProperty("isInline").GetBoolean(), attachment.GetProperty("contentId").GetString()));
        var stored = Assert.Single(Assert.Single(cloud.Drafts).Attachments);
        Assert.Equal(attachment.GetProperty("id").GetString(), stored.Id);
        Assert.Equal(Convert.FromBase64String("iVBORw0KGgo="), stored.Content);
        Assert.False(stored.Uploaded);
    }

    [Fact]
    public async Task AnAttachmentRequestOver4MiBIs413AndOneWithoutItsODataTypeIs400()
    {
        await using var cloud = await StartAsync();
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);
        var id = await CreateDraftAsync(http, cloud, token);
        var tooLarge = Convert.ToBase64String(new byte[3 * MiB + 1]);

        using var large = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages/{id}/attachments", token,
            Json($"{{\"@odata.type\":\"#microsoft.graph.fileAttachment\",\"name\":\"a.bin\",\"contentBytes\":\"{tooLarge}\"}}")));
        using var untyped = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages/{id}/attachments", token,
            Json("""{"name":"a.txt","contentBytes":"SGVsbG8="}""")));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
        Assert.Equal("The maximum request length supported is 4MB.", (await ErrorAsync(large)).GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, untyped.StatusCode);
        Assert.Equal("RequestBodyRead", (await ErrorAsync(untyped)).GetProperty("code").GetString());
        Assert.Empty(Assert.Single(cloud.Drafts).Attachments);
    }

    [Fact]
    public async Task SendIs202WithNoBodyAndTheDraftIsGoneAfterwards()
    {
        await using var cloud = await StartAsync();
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);
        var id = await CreateDraftAsync(http, cloud, token);

        using var sent = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox.ToUpperInvariant()}/messages/{id}/send", token));
        using var again = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages/{id}/send", token));

        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        Assert.Empty(await sent.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal("ErrorItemNotFound", (await ErrorAsync(again)).GetProperty("code").GetString());
        var mail = Assert.Single(cloud.SentMail);
        Assert.Equal((Mailbox.ToUpperInvariant(), SendMailFormat.Draft, id), (mail.Mailbox, mail.Format, mail.MessageId));
        Assert.Empty(mail.Attachments);
        Assert.Empty(cloud.Drafts);
    }

    [Fact]
    public async Task ADraftWithoutRecipientsIsRefusedAtSendAndStays()
    {
        await using var cloud = await StartAsync();
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);
        var id = await CreateDraftAsync(http, cloud, token, """{"subject":"Nobody"}""");

        using var response = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages/{id}/send", token));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("ErrorInvalidRecipients", (await ErrorAsync(response)).GetProperty("code").GetString());
        Assert.Single(cloud.Drafts);
        Assert.Empty(cloud.SentMail);
    }

    [Fact]
    public async Task AnotherMailboxsDraftIsNotFoundAndADeletedDraftIsGone()
    {
        await using var cloud = await StartAsync();
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);
        var id = await CreateDraftAsync(http, cloud, token);

        using var elsewhere = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/ceo@contoso.com/messages/{id}/send", token));
        using var deleted = await http.SendAsync(Request(HttpMethod.Delete, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages/{id}", token));
        using var afterDelete = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages/{id}/attachments", token,
            Json("""{"@odata.type":"#microsoft.graph.fileAttachment","name":"a.txt","contentBytes":"SGVsbG8="}""")));

        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
        Assert.Equal("The specified object was not found in the store.", (await ErrorAsync(elsewhere)).GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, afterDelete.StatusCode);
        Assert.Empty(cloud.Drafts);
        Assert.Empty(cloud.SentMail);
    }

    [Fact]
    public async Task TheMessageSizeLimitAppliesToAttachmentsAndToSend()
    {
        await using var cloud = await StartAsync();
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);
        var id = await CreateDraftAsync(http, cloud, token);
        var attachment = Json($"{{\"@odata.type\":\"#microsoft.graph.fileAttachment\",\"name\":\"a.bin\",\"contentBytes\":\"{Convert.ToBase64String(new byte[2 * MiB])}\"}}");
        using var added = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages/{id}/attachments", token, attachment));

        // 2 MiB counts as its base64, 2.67 MiB: a 3 MiB limit leaves no room for another, nor for the message once lowered.
        cloud.MessageSizeLimit = 3 * MiB;
        using var second = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages/{id}/attachments", token,
            Json($"{{\"@odata.type\":\"#microsoft.graph.fileAttachment\",\"name\":\"b.bin\",\"contentBytes\":\"{Convert.ToBase64String(new byte[MiB / 2])}\"}}")));
        cloud.MessageSizeLimit = 2 * MiB;
        using var send = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages/{id}/send", token));

        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
        Assert.Equal("ErrorMessageSizeExceeded", (await ErrorAsync(second)).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, send.StatusCode);
        Assert.Equal("ErrorMessageSizeExceeded", (await ErrorAsync(send)).GetProperty("code").GetString());
        Assert.Empty(cloud.SentMail);
    }

    [Fact]
    public async Task EveryDraftOperationIsOfferedToTheHookWithTheMessageId()
    {
        await using var cloud = await StartAsync();
        var offered = new List<GraphRequest>();
        cloud.GraphFault = request =>
        {
            lock (offered)
            {
                offered.Add(request);
            }
            return request.Operation == GraphOperation.CreateAttachment && request.Attempt == 1 ? GraphFault.QuotaExceeded() : null;
        };
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);
        var id = await CreateDraftAsync(http, cloud, token);
        var attachment = """{"@odata.type":"#microsoft.graph.fileAttachment","name":"a.txt","contentBytes":"SGVsbG8="}""";

        using var full = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages/{id}/attachments", token, Json(attachment)));
        using var added = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages/{id}/attachments", token, Json(attachment)));
        using var sent = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages/{id}/send", token));

        Assert.Equal([HttpStatusCode.BadRequest, HttpStatusCode.Created, HttpStatusCode.Accepted], new[] { full.StatusCode, added.StatusCode, sent.StatusCode });
        Assert.Equal(
            [(GraphOperation.CreateMessage, null, 1), (GraphOperation.CreateAttachment, id, 1), (GraphOperation.CreateAttachment, id, 2), (GraphOperation.Send, id, 1)],
            offered.Select(request => (request.Operation, request.MessageId, request.Attempt)));
        Assert.Single(Assert.Single(cloud.SentMail).Attachments);
    }

    private static async Task<string> CreateDraftAsync(HttpClient http, FakeMicrosoftCloud cloud, string token,
        string json = """{"subject":"Hi","toRecipients":[{"emailAddress":{"address":"someone@example.com"}}]}""")
    {
        using var response = await http.SendAsync(Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/messages", token, Json(json)));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await JsonAsync(response)).GetProperty("id").GetString()!;
    }
}
