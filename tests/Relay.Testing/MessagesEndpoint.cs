using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Relay.Testing;

/// <summary>
/// Graph v1.0's large-message path: create a draft (<c>POST /users/{id}/messages</c>, JSON or base64 MIME), add file
/// attachments (<c>POST …/messages/{id}/attachments</c>, or <c>…/attachments/createUploadSession</c> and <c>PUT</c>s of
/// ranges to the pre-authenticated upload URL), then send it (<c>POST …/messages/{id}/send</c>) or delete it. Every
/// request runs through <see cref="GraphPipeline"/>, upload chunks included (as the mailbox they go to).
/// </summary>
internal sealed partial class MessagesEndpoint(GraphPipeline pipeline, MailStore store, RequestJournal journal)
{
    /// <summary>The upload URL's host, Outlook's stand-in (real: <c>outlook.office.com</c>): not Graph's host (127.0.0.1), so a
    /// Graph client's authentication provider, whose allowed hosts are Graph's, adds no token for it. <c>localhost</c>, which
    /// every resolver knows from /etc/hosts: a name such as <c>outlook.localhost</c> would send a client in another process
    /// (a Relay.Sender started as a process) to a DNS server, off this machine.</summary>
    public const string UploadHost = "localhost";

    /// <summary>The host upload URLs name: <see cref="UploadHost"/> unless set (see <see cref="FakeMicrosoftCloud.UploadHost"/>).</summary>
    public string Host { get; set; } = UploadHost;

    private const string FileAttachmentType = "#microsoft.graph.fileAttachment";
    private const string DefaultContentType = "application/octet-stream";

    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    /// <summary>403 for a delegated token reaching into another user's mailbox without delegate rights.</summary>
    private static readonly GraphFault OtherMailboxDenied =
        new(StatusCodes.Status403Forbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.");

    /// <summary>Adds the routes to the fake's application (before it starts).</summary>
    public static void Map(IEndpointRouteBuilder routes, MessagesEndpoint endpoint)
    {
        foreach (var (prefix, users) in new[] { ("/v1.0/users/{id}", true), ("/v1.0/me", false) })
        {
            string? Mailbox(HttpContext context) => users ? (string?)context.Request.RouteValues["id"] : null;
            static string MessageId(HttpContext context) => (string)context.Request.RouteValues["messageId"]!;

            routes.MapPost(prefix + "/messages", context => endpoint.CreateMessageAsync(context, Mailbox(context)));
            routes.MapDelete(prefix + "/messages/{messageId}", context => endpoint.DeleteMessageAsync(context, Mailbox(context), MessageId(context)));
            routes.MapPost(prefix + "/messages/{messageId}/attachments", context => endpoint.CreateAttachmentAsync(context, Mailbox(context), MessageId(context)));
            routes.MapPost(prefix + "/messages/{messageId}/attachments/createUploadSession", context => endpoint.CreateUploadSessionAsync(context, Mailbox(context), MessageId(context)));
            routes.MapPost(prefix + "/messages/{messageId}/attachments/microsoft.graph.createUploadSession", context => endpoint.CreateUploadSessionAsync(context, Mailbox(context), MessageId(context)));
            routes.MapPost(prefix + "/messages/{messageId}/send", context => endpoint.SendAsync(context, Mailbox(context), MessageId(context)));
            routes.MapPost(prefix + "/messages/{messageId}/microsoft.graph.send", context => endpoint.SendAsync(context, Mailbox(context), MessageId(context)));
        }

        routes.MapMethods("/api/v2.0/{**path}", [HttpMethods.Put, HttpMethods.Delete], endpoint.UploadAsync);
    }

    private Task CreateMessageAsync(HttpContext context, string? mailbox) =>
        RunAsync(context, mailbox, GraphOperation.CreateMessage, messageId: null, async caller =>
        {
            if (await GraphJson.ReadBodyAsync(context.Request.Body) is not { } body)
            {
                return new GraphErrorResult(GraphFault.RequestTooLarge());
            }

            MailStore.Draft draft;
            switch (GraphJson.MediaType(context.Request))
            {
                case "application/json":
                    if (GraphJson.Parse(body) is not { ValueKind: JsonValueKind.Object } json)
                    {
                        return new GraphErrorResult(GraphJson.MalformedJson);
                    }

                    if (GraphJson.CheckInternetMessageHeaders(json) is { } invalidHeaders)
                    {
                        return new GraphErrorResult(invalidHeaders);
                    }

                    draft = store.CreateDraft(caller, json, mime: null, body.Length);
                    break;

                case "text/plain":
                    if (GraphJson.DecodeBase64(body) is not { } mime)
                    {
                        return new GraphErrorResult(new GraphFault(StatusCodes.Status400BadRequest, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."));
                    }

                    draft = store.CreateDraft(caller, json: null, mime, mime.Length);
                    break;

                default:
                    return new GraphErrorResult(new GraphFault(StatusCodes.Status415UnsupportedMediaType, "UnsupportedMediaType",
                        $"The content type '{context.Request.ContentType}' is not supported for creating a message; use application/json or text/plain."));
            }

            return Results.Json(MessageResource(context, draft), statusCode: StatusCodes.Status201Created);
        });

    private Task DeleteMessageAsync(HttpContext context, string? mailbox, string messageId) =>
        RunAsync(context, mailbox, GraphOperation.DeleteMessage, messageId, caller =>
            Task.FromResult(store.FindDraft(caller, messageId) is { } draft && store.Delete(draft)
                ? Results.NoContent()
                : (IResult)new GraphErrorResult(MailStore.ItemNotFound)));

    /// <summary>
    /// What a request about one draft starts with, in Graph's order: a body within the request limit, a draft the caller
    /// has, a JSON object. Either the draft and the object, or the error reply.
    /// </summary>
    private async Task<(MailStore.Draft Draft, JsonElement Json, IResult? Refused)> ReadDraftRequestAsync(HttpContext context, GraphCaller caller, string messageId)
    {
        if (await GraphJson.ReadBodyAsync(context.Request.Body) is not { } body)
        {
            return (null!, default, new GraphErrorResult(GraphFault.RequestTooLarge()));
        }
        if (store.FindDraft(caller, messageId) is not { } draft)
        {
            return (null!, default, new GraphErrorResult(MailStore.ItemNotFound));
        }
        return GraphJson.Parse(body) is { ValueKind: JsonValueKind.Object } json
            ? (draft, json, null)
            : (null!, default, new GraphErrorResult(GraphJson.MalformedJson));
    }

    private Task CreateAttachmentAsync(HttpContext context, string? mailbox, string messageId) =>
        RunAsync(context, mailbox, GraphOperation.CreateAttachment, messageId, async caller =>
        {
            var (draft, json, refused) = await ReadDraftRequestAsync(context, caller, messageId);
            if (refused is not null)
            {
                return refused;
            }

            var type = GraphJson.String(json, "@odata.type");
            if (type is null)
            {
                // The attachment type is abstract: without the annotation OData cannot bind fileAttachment's properties.
                return new GraphErrorResult(new GraphFault(StatusCodes.Status400BadRequest, "RequestBodyRead",
                    "The property 'contentBytes' does not exist on type 'microsoft.graph.attachment'. Make sure to only use property names that are defined by the type or mark the type as open type."));
            }

            if (!type.TrimStart('#').Equals(FileAttachmentType.TrimStart('#'), StringComparison.OrdinalIgnoreCase))
            {
                return new GraphErrorResult(new GraphFault(StatusCodes.Status400BadRequest, "ErrorInvalidRequest",
                    $"The fake Microsoft cloud accepts only {FileAttachmentType} attachments, not '{type}'."));
            }

            if (GraphJson.String(json, "contentBytes") is not { } contentBytes || !TryDecodeBase64(contentBytes, out var content))
            {
                return new GraphErrorResult(new GraphFault(StatusCodes.Status400BadRequest, "ErrorInvalidRequest",
                    "A file attachment needs its content as base64 in 'contentBytes'."));
            }

            var attachment = new MailAttachment(MailStore.NewId(), GraphJson.String(json, "name") ?? string.Empty,
                GraphJson.String(json, "contentType") ?? DefaultContentType, content, GraphJson.Boolean(json, "isInline") ?? false,
                GraphJson.String(json, "contentId"));
            if (store.AddAttachment(draft, attachment) is { } fault)
            {
                return new GraphErrorResult(fault);
            }

            return Results.Json(AttachmentResource(context, caller, draft, attachment), statusCode: StatusCodes.Status201Created);
        });

    private Task CreateUploadSessionAsync(HttpContext context, string? mailbox, string messageId) =>
        RunAsync(context, mailbox, GraphOperation.CreateUploadSession, messageId, async caller =>
        {
            var (draft, json, refused) = await ReadDraftRequestAsync(context, caller, messageId);
            if (refused is not null)
            {
                return refused;
            }

            if (GraphJson.Object(json, "AttachmentItem") is not { } item)
            {
                return new GraphErrorResult(new GraphFault(StatusCodes.Status400BadRequest, "ErrorInvalidRequest", "The 'AttachmentItem' parameter is required."));
            }

            if (GraphJson.String(item, "attachmentType") is { } attachmentType && !attachmentType.Equals("file", StringComparison.OrdinalIgnoreCase))
            {
                return new GraphErrorResult(new GraphFault(StatusCodes.Status400BadRequest, "ErrorInvalidRequest",
                    $"The fake Microsoft cloud uploads only attachmentType 'file', not '{attachmentType}'."));
            }

            if (GraphJson.String(item, "name") is not { Length: > 0 } name || GraphJson.Int64(item, "size") is not ({ } size and > 0))
            {
                return new GraphErrorResult(new GraphFault(StatusCodes.Status400BadRequest, "ErrorInvalidRequest",
                    "An AttachmentItem needs a name and a size."));
            }

            var upload = store.OpenUpload(draft, caller, name, GraphJson.String(item, "contentType") ?? DefaultContentType, size,
                GraphJson.Boolean(item, "isInline") ?? false, GraphJson.String(item, "contentId"), out var fault);
            if (upload is null)
            {
                return new GraphErrorResult(fault!);
            }

            return Results.Json(new JsonObject
            {
                ["@odata.context"] = $"{GraphBase(context)}/$metadata#microsoft.graph.uploadSession",
                ["uploadUrl"] = $"{OutlookBase(context, upload)}/AttachmentSessions('{upload.Id}')?authtoken={upload.AuthToken}",
                ["expirationDateTime"] = Timestamp(upload.ExpiresAt),
                ["nextExpectedRanges"] = new JsonArray("0-"),
            }, statusCode: StatusCodes.Status201Created);
        });

    private Task SendAsync(HttpContext context, string? mailbox, string messageId) =>
        RunAsync(context, mailbox, GraphOperation.Send, messageId, caller =>
        {
            if (store.FindDraft(caller, messageId) is not { } draft)
            {
                return Task.FromResult<IResult>(new GraphErrorResult(MailStore.ItemNotFound));
            }

            if (store.Send(draft, out var fault) is not { } sent)
            {
                return Task.FromResult<IResult>(new GraphErrorResult(fault!));
            }

            journal.Accept(new SentMail(caller.Mailbox, SendMailFormat.Draft, sent.Mime, sent.Json, caller.BearerToken, GraphRequestIds.RequestId(context))
            {
                Principal = caller.Principal,
                IsDelegated = caller.IsDelegated,
                MessageId = sent.MessageId,
                Attachments = sent.Attachments,
            });
            return Task.FromResult(Results.StatusCode(StatusCodes.Status202Accepted));
        });

    /// <summary>
    /// <c>PUT</c> (a range) or <c>DELETE</c> (cancel) on an upload URL,
    /// <c>https://localhost:{port}/api/v2.0/Users('…')/Messages('…')/AttachmentSessions('…')?authtoken=…</c>. The
    /// URL is pre-authenticated: a request that also carries an <c>Authorization</c> header is refused as Outlook refuses a
    /// Graph token (401 <c>InvalidAudience</c>).
    /// </summary>
    private async Task UploadAsync(HttpContext context)
    {
        var request = context.Request;
        if (UploadSessionPath().Match(request.Path.Value ?? string.Empty) is not { Success: true } match
            || store.FindUpload(match.Groups["session"].Value) is not { } upload)
        {
            await new GraphErrorResult(MailStore.ItemNotFound).ExecuteAsync(context);
            return;
        }

        if (request.Headers.Authorization.Count > 0)
        {
            await new GraphErrorResult(new GraphFault(StatusCodes.Status401Unauthorized, "InvalidAudience", "The audience claim value is invalid 'aud'.")).ExecuteAsync(context);
            return;
        }

        if (!string.Equals(request.Query["authtoken"], upload.AuthToken, StringComparison.Ordinal))
        {
            await new GraphErrorResult(new GraphFault(StatusCodes.Status401Unauthorized, "InvalidAuthenticationToken", "The upload URL's authtoken is missing or not valid.")).ExecuteAsync(context);
            return;
        }

        if (HttpMethods.IsDelete(request.Method))
        {
            await pipeline.RunAsync(context, upload.Caller, GraphOperation.DeleteUploadSession, upload.Draft.Id, () =>
                Task.FromResult(store.CancelUpload(upload) ? Results.NoContent() : (IResult)new GraphErrorResult(MailStore.ItemNotFound)));
            return;
        }

        await pipeline.RunAsync(context, upload.Caller, GraphOperation.UploadChunk, upload.Draft.Id, async () =>
        {
            if (await GraphJson.ReadBodyAsync(request.Body) is not { } chunk)
            {
                return new GraphErrorResult(GraphFault.RequestTooLarge());
            }

            if (ContentRange().Match(request.Headers.ContentRange.ToString()) is not { Success: true } range
                || !long.TryParse(range.Groups["start"].Value, CultureInfo.InvariantCulture, out var start)
                || !long.TryParse(range.Groups["end"].Value, CultureInfo.InvariantCulture, out var end)
                || !long.TryParse(range.Groups["total"].Value, CultureInfo.InvariantCulture, out var total)
                || end < start || end >= total)
            {
                return new GraphErrorResult(new GraphFault(StatusCodes.Status400BadRequest, "invalidRequest",
                    "The Content-Range header is missing or not valid; send 'bytes {start}-{end}/{total}'."));
            }

            if (end - start + 1 != chunk.Length)
            {
                return new GraphErrorResult(new GraphFault(StatusCodes.Status400BadRequest, "invalidRequest",
                    "The Content-Range header length does not match the provided number of bytes."));
            }

            if (store.Write(upload, start, end, total, chunk, out var completed, out var fault) is not { } next)
            {
                return new GraphErrorResult(fault!);
            }

            if (completed is not null)
            {
                context.Response.Headers.Location = $"{OutlookBase(context, upload)}/Attachments('{completed.Id}')";
                return Results.StatusCode(StatusCodes.Status201Created);
            }

            // As Outlook answers (its docs' example): "ExpirationDateTime" capitalized, and the next offset with no dash.
            return Results.Json(new JsonObject
            {
                ["@odata.context"] = $"https://{Host}:{context.Request.Host.Port}/api/v2.0/$metadata#Users('{Uri.EscapeDataString(upload.Caller.MailboxKey)}')/Messages('{Uri.EscapeDataString(upload.Draft.Id)}')/AttachmentSessions/$entity",
                ["ExpirationDateTime"] = Timestamp(upload.ExpiresAt),
                ["nextExpectedRanges"] = new JsonArray(next.ToString(CultureInfo.InvariantCulture)),
            });
        });
    }

    /// <summary>Identifies the caller of a <c>/users/{id}/…</c> or <c>/me/…</c> request and runs it through the pipeline.</summary>
    private Task RunAsync(HttpContext context, string? mailbox, GraphOperation operation, string? messageId, Func<GraphCaller, Task<IResult>> handle) =>
        pipeline.Identify(context.Request, mailbox, OtherMailboxDenied, out var refusal) is { } caller
            ? pipeline.RunAsync(context, caller, operation, messageId, () => handle(caller))
            : new GraphErrorResult(refusal).ExecuteAsync(context);

    /// <summary>The message as Graph returns it from create: the fields the client set (read case-insensitively, written in camelCase) plus the server's.</summary>
    private static JsonObject MessageResource(HttpContext context, MailStore.Draft draft)
    {
        var now = Timestamp(draft.CreatedAt);
        var json = draft.Json ?? EmptyObject;
        var body = GraphJson.Object(json, "body");
        var content = body is { } b ? GraphJson.String(b, "content") ?? string.Empty : string.Empty;
        var resource = new JsonObject
        {
            ["@odata.context"] = $"{GraphBase(context)}/$metadata#users('{Uri.EscapeDataString(draft.Owner.Mailbox)}')/messages/$entity",
            ["@odata.etag"] = $"W/\"{draft.Id[^12..]}\"",
            ["id"] = draft.Id,
            ["createdDateTime"] = now,
            ["lastModifiedDateTime"] = now,
            ["changeKey"] = draft.Id[^12..],
            ["categories"] = new JsonArray(),
            ["receivedDateTime"] = now,
            ["sentDateTime"] = now,
            ["hasAttachments"] = false,
            ["internetMessageId"] = $"<{draft.Id[6..22]}@fake.outlook.localhost>",
            ["subject"] = GraphJson.String(json, "subject") ?? string.Empty,
            ["bodyPreview"] = content.Length > 255 ? content[..255] : content,
            ["importance"] = (GraphJson.String(json, "importance") ?? "normal").ToLowerInvariant(),
            ["parentFolderId"] = "AAMkADdraftsFolder",
            ["conversationId"] = "AAQkAD" + draft.Id[6..30],
            ["isDeliveryReceiptRequested"] = GraphJson.Boolean(json, "isDeliveryReceiptRequested") ?? false,
            ["isReadReceiptRequested"] = GraphJson.Boolean(json, "isReadReceiptRequested") ?? false,
            ["isRead"] = true,
            ["isDraft"] = true,
            ["webLink"] = $"https://outlook.office365.com/owa/?ItemID={Uri.EscapeDataString(draft.Id)}&exvsurl=1&viewmodel=ReadMessageItem",
            ["inferenceClassification"] = "focused",
            ["body"] = new JsonObject
            {
                ["contentType"] = (body is { } bt ? GraphJson.String(bt, "contentType") ?? "text" : "text").ToLowerInvariant(),
                ["content"] = content,
            },
            ["toRecipients"] = Recipients(json, "toRecipients"),
            ["ccRecipients"] = Recipients(json, "ccRecipients"),
            ["bccRecipients"] = Recipients(json, "bccRecipients"),
            ["replyTo"] = Recipients(json, "replyTo"),
            ["flag"] = new JsonObject { ["flagStatus"] = "notFlagged" },
        };
        foreach (var name in new[] { "from", "sender" })
        {
            if (GraphJson.Object(json, name) is { } recipient)
            {
                resource[name] = Recipient(recipient);
            }
        }
        return resource;
    }

    private static JsonArray Recipients(JsonElement message, string name) => [.. GraphJson.Array(message, name).Select(Recipient)];

    private static JsonObject Recipient(JsonElement recipient)
    {
        var emailAddress = GraphJson.Object(recipient, "emailAddress");
        var address = emailAddress is { } e ? GraphJson.String(e, "address") : null;
        var name = emailAddress is { } n ? GraphJson.String(n, "name") : null;
        return new JsonObject { ["emailAddress"] = new JsonObject { ["name"] = name ?? address, ["address"] = address } };
    }

    private static JsonObject AttachmentResource(HttpContext context, GraphCaller caller, MailStore.Draft draft, MailAttachment attachment) => new()
    {
        ["@odata.context"] = $"{GraphBase(context)}/$metadata#users('{Uri.EscapeDataString(caller.Mailbox)}')/messages('{Uri.EscapeDataString(draft.Id)}')/attachments/$entity",
        ["@odata.type"] = FileAttachmentType,
        ["@odata.mediaContentType"] = attachment.ContentType,
        ["id"] = attachment.Id,
        ["lastModifiedDateTime"] = Timestamp(DateTimeOffset.UtcNow),
        ["name"] = attachment.Name,
        ["contentType"] = attachment.ContentType,
        ["size"] = attachment.Content.Length,
        ["isInline"] = attachment.IsInline,
        ["contentId"] = attachment.ContentId,
        ["contentLocation"] = null,
        ["contentBytes"] = Convert.ToBase64String(attachment.Content),
    };

    private static string GraphBase(HttpContext context) => $"{context.Request.Scheme}://{context.Request.Host}/v1.0";

    /// <summary>Like Outlook's <c>https://outlook.office.com/api/v2.0/Users('…')/Messages('…')</c>, on <see cref="Host"/> and the fake's port.</summary>
    private string OutlookBase(HttpContext context, MailStore.Upload upload) =>
        $"https://{Host}:{context.Request.Host.Port}/api/v2.0/Users('{Uri.EscapeDataString(upload.Caller.MailboxKey)}')/Messages('{upload.Draft.Id}')";

    private static string Timestamp(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static bool TryDecodeBase64(string value, out byte[] bytes)
    {
        var buffer = new byte[value.Length / 4 * 3 + 3];
        if (Convert.TryFromBase64String(value, buffer, out var length))
        {
            bytes = buffer[..length];
            return true;
        }

        bytes = [];
        return false;
    }

    [GeneratedRegex(@"/AttachmentSessions\('(?<session>[^']+)'\)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UploadSessionPath();

    [GeneratedRegex(@"^\s*bytes\s+(?<start>\d+)-(?<end>\d+)/(?<total>\d+)\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ContentRange();
}
