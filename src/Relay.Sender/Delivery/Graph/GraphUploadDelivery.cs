using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.Graph;
using Microsoft.Graph.Models;
using Microsoft.Graph.Models.ODataErrors;
using Microsoft.Graph.Users.Item.Messages.Item.Attachments.CreateUploadSession;
using Microsoft.Kiota.Abstractions;
using Microsoft.Kiota.Http.HttpClientLibrary.Middleware.Options;
using MimeKit;
using Relay.Contracts;

namespace Relay.Sender.Delivery.Graph;

/// <summary>
/// Sends a message too large for one MIME request (over <c>Graph:MimeSizeLimit</c>) as a draft (graph-facts §2):
/// <c>POST /users/{mailbox}/messages</c> with what a JSON message can carry (<see cref="DraftComposer"/>), each other part
/// as an attachment — under 3 MB in one <c>POST …/attachments</c>, larger through <c>createUploadSession</c> and
/// <c>PUT</c>s of at most 4 MB to the pre-authenticated upload URL, streamed from the spool — then
/// <c>POST …/messages/{id}/send</c>.
/// <para>
/// All requests share the message's one <see cref="GraphCallContext"/> (one budget, one count of attempts) and each takes
/// its own mailbox slot. Creating the draft, attaching and uploading do not send anything, so what
/// <see cref="GraphCallPolicy"/> retries there duplicates nothing that reaches a recipient; the send is treated as
/// sendMail is: an answer never seen is not retried. A draft that will not be sent is deleted (best effort, logged).
/// Needs Mail.ReadWrite besides Mail.Send.
/// </para>
/// </summary>
public sealed partial class GraphUploadDelivery(
    GraphClientProvider clients, GraphCallPolicy policy, IOptions<GraphOptions> options, ILogger<GraphUploadDelivery> logger)
{
    /// <summary>The path in the audit line: draft, attachments and uploads, send.</summary>
    public const string UploadPath = "upload";

    /// <summary>
    /// Attachments smaller than this go in one POST; from it on, through an upload session (graph-facts §2: "under 3 MB" one
    /// POST, "3–150 MB" an upload session, which refuses smaller ones). Base64 of 3,000,000 bytes is 4,000,000: under the
    /// 4 MB request limit.
    /// </summary>
    public const int UploadSessionThreshold = 3_000_000;

    /// <summary>
    /// One upload PUT: 12 × 320 KiB = 3,932,160 bytes, under Outlook's 4 MB per chunk and a multiple of the 320 KiB OneDrive
    /// asks for (Outlook does not, but it costs nothing).
    /// </summary>
    public const int ChunkSize = 12 * 320 * 1024;

    /// <summary>How long deleting an unsent draft may take once the message's own budget is spent.</summary>
    private static readonly TimeSpan CleanupBudget = TimeSpan.FromSeconds(15);

    public async Task<DeliveryResult> DeliverAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        if (MimeComposer.Refuse(message, options.Value) is { } refusal)
        {
            return new DeliveryResult(refusal, Path: UploadPath);
        }
        MimeMessage mime;
        try
        {
            // Persistent: parts' content stays in the spool (file or memory) and is decoded only as it is read.
            mime = await new MimeParser(message.Body.Rewind(), MimeFormat.Entity, persistent: true).ParseMessageAsync(cancellationToken);
        }
        catch (FormatException)
        {
            return new DeliveryResult(Replies.InvalidMessage, Path: UploadPath);
        }
        if (IsSignedOrEncrypted(mime.Body))
        {
            return new DeliveryResult(Replies.Create(552, "5.3.4",
                $"Signed or encrypted message exceeds the {options.Value.MimeSizeLimit} bytes Microsoft Graph accepts as MIME; "
                + "as a draft its signature would break, so Relay does not send it"), Path: UploadPath);
        }
        var plan = DraftComposer.Compose(mime, message.Headers.MissingFromHeaders(message.Envelope.Recipients), message.Mailbox);
        if (plan.Lost.Count > 0)
        {
            LogDraftLosses(logger, message.QueueId, string.Join("; ", plan.Lost));
        }

        var credential = message.Principal.Credential;
        var graph = clients.CreateClient(credential);
        var call = policy.Begin(message.Mailbox, rejectedAt => clients.RenewToken(credential, rejectedAt));
        var mailbox = graph.Users[message.Mailbox];
        string? draftId = null;
        var sending = false;
        try
        {
            var draft = await policy.RunAsync(call, "createDraft", attemptToken =>
                mailbox.Messages.PostAsync(plan.Message, cancellationToken: attemptToken), cancellationToken);
            draftId = draft?.Id ?? throw new InvalidOperationException("Graph created the draft but returned no id.");
            foreach (var attachment in plan.Attachments)
            {
                await AttachAsync(call, mailbox.Messages[draftId], attachment, cancellationToken);
            }
            sending = true;
            var requestId = await policy.RunAsync(call, "send", async attemptToken =>
            {
                var inspection = new HeadersInspectionHandlerOption { InspectResponseHeaders = true };
                await mailbox.Messages[draftId].Send.PostAsync(config => config.Options.Add(inspection), attemptToken);
                return GraphDeliveryLog.RequestId(inspection.ResponseHeaders);
            }, cancellationToken);
            return new DeliveryResult(Replies.Queued(message.QueueId), requestId, call.Attempts, UploadPath);
        }
        catch (GraphCallException failure)
        {
            var unsent = !(sending && failure.Failure == GraphCallFailure.Unanswered);
            GraphDeliveryLog.Failure(logger, message, UploadPath, call.Attempts, failure, mayHaveBeenSent: !unsent);
            if (draftId is not null)
            {
                if (unsent)
                {
                    await DeleteDraftAsync(graph, message, draftId);
                }
                else
                {
                    LogDraftLeft(logger, message.QueueId, draftId);
                }
            }
            var reply = draftId is null && failure.GraphCode == "ErrorAccessDenied" ? DraftDenied : failure.Reply;
            return new DeliveryResult(reply, call.RequestId, call.Attempts, UploadPath);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && draftId is not null && !sending)
        {
            await DeleteDraftAsync(graph, message, draftId);
            throw;
        }
    }

    /// <summary>
    /// ErrorAccessDenied on creating the draft: most often Mail.ReadWrite is missing (Mail.Send alone is enough for small
    /// messages), or an access policy or RBAC scope leaves this mailbox out.
    /// </summary>
    public static SmtpReply DraftDenied { get; } = Replies.Create(550, "5.7.1",
        "Microsoft 365 denied creating a draft (ErrorAccessDenied): large messages go out as a draft, which needs the Mail.ReadWrite "
        + "application permission besides Mail.Send (with RBAC for Applications, the Application Mail.ReadWrite role for the same scope)");

    /// <summary>multipart/signed, multipart/encrypted, application/(x-)pkcs7-mime: a draft would rebuild the MIME and break them.</summary>
    public static bool IsSignedOrEncrypted(MimeEntity? body) => body?.ContentType is { } type
        && (type.IsMimeType("multipart", "signed") || type.IsMimeType("multipart", "encrypted")
            || type.IsMimeType("application", "pkcs7-mime") || type.IsMimeType("application", "x-pkcs7-mime"));

    /// <summary>One attachment: one POST when small, an upload session when not. Its size is counted by decoding it once.</summary>
    private async Task AttachAsync(GraphCallContext call, Microsoft.Graph.Users.Item.Messages.Item.MessageItemRequestBuilder draft,
        DraftAttachment attachment, CancellationToken cancellationToken)
    {
        var size = await SizeAsync(attachment, cancellationToken);
        if (size < UploadSessionThreshold)
        {
            var content = new byte[size];
            await using (var source = attachment.OpenContent())
            {
                await source.ReadExactlyAsync(content, cancellationToken);
            }
            await policy.RunAsync(call, "createAttachment", attemptToken => draft.Attachments.PostAsync(new FileAttachment
            {
                Name = attachment.Name,
                ContentType = attachment.ContentType,
                ContentBytes = content,
                IsInline = attachment.IsInline,
                ContentId = attachment.ContentId,
            }, cancellationToken: attemptToken), cancellationToken);
            return;
        }

        var session = await policy.RunAsync(call, "createUploadSession", attemptToken =>
            draft.Attachments.CreateUploadSession.PostAsync(new CreateUploadSessionPostRequestBody
            {
                AttachmentItem = new AttachmentItem
                {
                    AttachmentType = AttachmentType.File,
                    Name = attachment.Name,
                    Size = size,
                    ContentType = attachment.ContentType,
                    IsInline = attachment.IsInline,
                    ContentId = attachment.ContentId,
                },
            }, cancellationToken: attemptToken), cancellationToken);
        if (session?.UploadUrl is not { } uploadUrl)
        {
            throw new InvalidOperationException("Graph created an upload session without an upload URL.");
        }
        await UploadAsync(call, uploadUrl, NextExpected(session.NextExpectedRanges) ?? 0, attachment, size, cancellationToken);
    }

    /// <summary>
    /// PUTs the attachment in chunks of <see cref="ChunkSize"/>, from where Outlook says it expects the next byte
    /// (<c>nextExpectedRanges</c>), until it answers 201. One chunk is in memory at a time.
    /// </summary>
    private async Task UploadAsync(GraphCallContext call, string uploadUrl, long offset, DraftAttachment attachment, long size,
        CancellationToken cancellationToken)
    {
        var http = clients.CreateUploadClient();
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        var source = attachment.OpenContent();
        long position = 0;
        try
        {
            while (true)
            {
                if (offset < 0 || offset >= size)
                {
                    throw new GraphCallException(GraphErrorMapper.NoResponse, GraphCallFailure.Refused, null, null,
                        $"the upload session expects byte {offset} of an attachment of {size} bytes", null);
                }
                if (offset != position)
                {
                    // Outlook asked for another range than the next: read the decoded content afresh up to it.
                    if (offset < position)
                    {
                        await source.DisposeAsync();
                        source = attachment.OpenContent();
                        position = 0;
                    }
                    position += await SkipAsync(source, offset - position, buffer, cancellationToken);
                }
                var length = (int)Math.Min(ChunkSize, size - offset);
                await source.ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken);
                position += length;
                var start = offset;
                var next = await policy.RunAsync(call, "uploadChunk",
                    attemptToken => PutChunkAsync(http, uploadUrl, buffer, start, length, size, attemptToken), cancellationToken);
                if (next is not { } expected)
                {
                    return;
                }
                offset = expected;
            }
        }
        finally
        {
            await source.DisposeAsync();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// One <c>PUT</c> of bytes <paramref name="start"/>…, without an Authorization header (the URL is pre-authenticated).
    /// Returns the next offset Outlook expects, or null when the attachment is complete (201). A refusal is thrown as an
    /// <see cref="ODataError"/> so <see cref="GraphCallPolicy"/> judges it as any Graph answer (429 and 503 retried).
    /// </summary>
    private static async Task<long?> PutChunkAsync(HttpClient http, string uploadUrl, byte[] buffer, long start, int length, long total,
        CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, uploadUrl) { Content = new ByteArrayContent(buffer, 0, length) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        request.Content.Headers.ContentRange = new ContentRangeHeaderValue(start, start + length - 1, total);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        if (response.StatusCode == HttpStatusCode.Created)
        {
            return null;
        }
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var json = Parse(body);
        if (response.IsSuccessStatusCode)
        {
            return json is { } answer && NextExpected(answer) is { } next ? next : start + length;
        }
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && json is { } refusal && NextExpected(refusal) is { } resume)
        {
            // The range was stored before (a chunk whose answer was lost, tried again): go on from where Outlook says.
            return resume;
        }
        var error = json is { } e && e.TryGetProperty("error", out var inner) && inner.ValueKind == JsonValueKind.Object ? inner : (JsonElement?)null;
        throw new ODataError
        {
            ResponseStatusCode = (int)response.StatusCode,
            ResponseHeaders = response.Headers.Concat(response.Content.Headers)
                .ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase),
            Error = new MainError
            {
                Code = error is { } c && c.TryGetProperty("code", out var code) ? code.GetString() : null,
                Message = error is { } m && m.TryGetProperty("message", out var text) ? text.GetString() : null,
            },
        };
    }

    private static JsonElement? Parse(byte[] body)
    {
        try
        {
            // Deserialised rather than JsonDocument.Parse: the element owns its memory, so no pooled buffer is left undisposed.
            return body.Length == 0 ? null : JsonSerializer.Deserialize<JsonElement>(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The first offset of <c>nextExpectedRanges</c> ("2097152", "2097152-" or "2097152-4194303"), in any case.</summary>
    private static long? NextExpected(JsonElement json)
    {
        foreach (var property in json.ValueKind == JsonValueKind.Object ? json.EnumerateObject() : default)
        {
            if (property.Name.Equals("nextExpectedRanges", StringComparison.OrdinalIgnoreCase) && property.Value.ValueKind == JsonValueKind.Array)
            {
                return NextExpected(property.Value.EnumerateArray().Select(range => range.GetString()).OfType<string>().ToList());
            }
        }
        return null;
    }

    private static long? NextExpected(IEnumerable<string>? ranges) =>
        ranges?.FirstOrDefault() is { } first
        && long.TryParse(first.Split('-')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var offset) ? offset : null;

    private static async Task<long> SizeAsync(DraftAttachment attachment, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            await using var source = attachment.OpenContent();
            long size = 0;
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                size += read;
            }
            return size;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<long> SkipAsync(Stream source, long count, byte[] buffer, CancellationToken cancellationToken)
    {
        var left = count;
        while (left > 0)
        {
            var read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken);
            if (read == 0)
            {
                throw new EndOfStreamException("The attachment ended before the range Outlook expects.");
            }
            left -= read;
        }
        return count;
    }

    /// <summary>
    /// Deletes a draft that will not be sent, so half-built drafts do not pile up in the mailbox's Drafts. Best effort,
    /// under its own short budget (the message's may be spent) and regardless of the client: a failure is logged.
    /// </summary>
    private async Task DeleteDraftAsync(GraphServiceClient graph, OutboundMessage message, string draftId)
    {
        var credential = message.Principal.Credential;
        var cleanup = policy.Begin(message.Mailbox, rejectedAt => clients.RenewToken(credential, rejectedAt), CleanupBudget);
        try
        {
            await policy.RunAsync(cleanup, "deleteDraft", async attemptToken =>
            {
                await graph.Users[message.Mailbox].Messages[draftId].DeleteAsync(cancellationToken: attemptToken);
                return true;
            }, CancellationToken.None);
            LogDraftDeleted(logger, message.QueueId);
        }
        catch (GraphCallException failure)
        {
            LogDraftNotDeleted(logger, message.QueueId, draftId, message.Mailbox, failure.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Message {QueueId} goes out as a Graph draft, which cannot carry: {Lost}")]
    private static partial void LogDraftLosses(ILogger logger, string queueId, string lost);

    /// <summary>The send of the draft is not retried when its answer was not seen: Graph may have sent it.</summary>
    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {QueueId}: its draft {DraftId} is left in Drafts, because it may have been sent")]
    private static partial void LogDraftLeft(ILogger logger, string queueId, string draftId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Message {QueueId}: its unsent draft was deleted")]
    private static partial void LogDraftDeleted(ILogger logger, string queueId);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Message {QueueId}: its unsent draft {DraftId} could not be deleted from {Mailbox}'s Drafts ({Reason}); delete it by hand")]
    private static partial void LogDraftNotDeleted(ILogger logger, string queueId, string draftId, string mailbox, string reason);
}
