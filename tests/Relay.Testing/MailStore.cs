using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Relay.Testing;

/// <summary>
/// The mailboxes' drafts and attachment upload sessions. A message's size is counted roughly as Exchange measures it
/// (the MIME it becomes): the body of the request that created the draft, plus each attachment base64-encoded.
/// </summary>
internal sealed class MailStore
{
    /// <summary>The largest attachment an upload session accepts: 150 MB.</summary>
    public const long MaxUploadSize = 150L * 1024 * 1024;

    /// <summary>How long an upload URL is valid (<c>expirationDateTime</c>); not enforced.</summary>
    private static readonly TimeSpan UploadLifetime = TimeSpan.FromHours(2);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Draft> _drafts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Upload> _uploads = new(StringComparer.Ordinal);

    public long MessageSizeLimit
    {
        get => Interlocked.Read(ref field);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Interlocked.Exchange(ref field, value);
        }
    } = 35L * 1024 * 1024;

    public long UploadSessionMinimumSize
    {
        get => Interlocked.Read(ref field);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 0);
            Interlocked.Exchange(ref field, value);
        }
    } = 3_000_000;

    public static GraphFault ItemNotFound { get; } =
        new(StatusCodes.Status404NotFound, "ErrorItemNotFound", "The specified object was not found in the store.");

    public MailDraft[] Drafts
    {
        get
        {
            lock (_gate)
            {
                return [.. _drafts.Values.OrderBy(draft => draft.Sequence).Select(Snapshot)];
            }
        }
    }

    /// <summary>The size Exchange counts for an attachment of <paramref name="length"/> bytes: its base64 encoding.</summary>
    public static long EncodedSize(long length) => (length + 2) / 3 * 4;

    public static string NewId() => "AAMkAD" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(24)) + "AAA=";

    public Draft CreateDraft(GraphCaller caller, JsonElement? json, byte[]? mime, long size)
    {
        var draft = new Draft(NewId(), caller, json, mime, size);
        lock (_gate)
        {
            draft.Sequence = _drafts.Count == 0 ? 0 : _drafts.Values.Max(existing => existing.Sequence) + 1;
            _drafts.Add(draft.Id, draft);
        }
        return draft;
    }

    /// <summary>The caller's mailbox's draft with this ID, or null (Exchange says 404 for another mailbox's item too).</summary>
    public Draft? FindDraft(GraphCaller caller, string messageId)
    {
        lock (_gate)
        {
            return _drafts.TryGetValue(messageId, out var draft) && draft.Owner.MailboxKey.Equals(caller.MailboxKey, StringComparison.OrdinalIgnoreCase)
                ? draft
                : null;
        }
    }

    public GraphFault? AddAttachment(Draft draft, MailAttachment attachment)
    {
        lock (_gate)
        {
            if (!_drafts.ContainsKey(draft.Id))
            {
                return ItemNotFound;
            }

            if (draft.Size + EncodedSize(attachment.Content.Length) > MessageSizeLimit)
            {
                return GraphFault.MessageSizeExceeded();
            }

            draft.Attachments.Add(attachment);
            return null;
        }
    }

    public Upload? OpenUpload(Draft draft, GraphCaller caller, string name, string contentType, long size, bool isInline, string? contentId, out GraphFault? fault)
    {
        lock (_gate)
        {
            fault = null;
            if (!_drafts.ContainsKey(draft.Id))
            {
                fault = ItemNotFound;
                return null;
            }

            if (size < UploadSessionMinimumSize)
            {
                fault = new GraphFault(StatusCodes.Status400BadRequest, "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
                    "Attachment size must be at least 3 MB to use an upload session; attach smaller files with a POST to the attachments.");
                return null;
            }

            if (size > MaxUploadSize || draft.Size + EncodedSize(size) > MessageSizeLimit)
            {
                fault = GraphFault.MessageSizeExceeded();
                return null;
            }

            var upload = new Upload(NewId(), draft, caller, name, contentType, size, isInline, contentId,
                Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32)), DateTimeOffset.UtcNow + UploadLifetime);
            _uploads.Add(upload.Id, upload);
            return upload;
        }
    }

    public Upload? FindUpload(string uploadId)
    {
        lock (_gate)
        {
            return _uploads.GetValueOrDefault(uploadId);
        }
    }

    /// <summary>
    /// Stores bytes <paramref name="start"/> to <paramref name="end"/> of an upload; returns the next expected offset, or
    /// null with <paramref name="fault"/> set. When the last byte arrives the attachment joins the draft and the session ends.
    /// </summary>
    public long? Write(Upload upload, long start, long end, long total, byte[] bytes, out MailAttachment? completed, out GraphFault? fault)
    {
        completed = null;
        fault = null;
        lock (_gate)
        {
            if (!_uploads.ContainsKey(upload.Id) || !_drafts.ContainsKey(upload.Draft.Id))
            {
                fault = ItemNotFound;
                return null;
            }

            if (total != upload.Size)
            {
                fault = new GraphFault(StatusCodes.Status400BadRequest, "invalidRange", "Declared total size for this fragment is different from that of the upload session.");
                return null;
            }

            if (start != upload.Next)
            {
                fault = new GraphFault(StatusCodes.Status416RangeNotSatisfiable, "invalidRange",
                    start < upload.Next ? "Uploaded fragment overlaps with existing data." : "Uploaded fragment is out of order.");
                return null;
            }

            bytes.CopyTo(upload.Content, start);
            upload.Next = end + 1;
            if (upload.Next < upload.Size)
            {
                return upload.Next;
            }

            _uploads.Remove(upload.Id);
            completed = new MailAttachment(NewId(), upload.Name, upload.ContentType, upload.Content, upload.IsInline, upload.ContentId) { Uploaded = true };
            upload.Draft.Attachments.Add(completed);
            return upload.Next;
        }
    }

    public bool CancelUpload(Upload upload)
    {
        lock (_gate)
        {
            return _uploads.Remove(upload.Id);
        }
    }

    /// <summary>Takes the draft out of the store to send it, unless Exchange would refuse: no recipients, or too large.</summary>
    public MailDraft? Send(Draft draft, out GraphFault? fault)
    {
        lock (_gate)
        {
            fault = null;
            if (!_drafts.ContainsKey(draft.Id))
            {
                fault = ItemNotFound;
                return null;
            }

            if (draft.Json is { } json && !new[] { "toRecipients", "ccRecipients", "bccRecipients" }.Any(name => GraphJson.Array(json, name).Any()))
            {
                fault = GraphFault.InvalidRecipients();
                return null;
            }

            if (draft.Size > MessageSizeLimit)
            {
                fault = GraphFault.MessageSizeExceeded();
                return null;
            }

            return Remove(draft);
        }
    }

    public bool Delete(Draft draft)
    {
        lock (_gate)
        {
            return Remove(draft) is not null;
        }
    }

    /// <summary>Removes the draft and its open upload sessions (their URLs stop working); call under the lock.</summary>
    private MailDraft? Remove(Draft draft)
    {
        if (!_drafts.Remove(draft.Id))
        {
            return null;
        }

        var snapshot = Snapshot(draft);
        foreach (var upload in _uploads.Values.Where(upload => upload.Draft == draft).ToList())
        {
            _uploads.Remove(upload.Id);
        }
        return snapshot;
    }

    private MailDraft Snapshot(Draft draft) =>
        new(draft.Owner.Mailbox, draft.Id, draft.Json, draft.Mime, [.. draft.Attachments])
        {
            Principal = draft.Owner.Principal,
            OpenUploadSessions = _uploads.Values.Count(upload => upload.Draft == draft),
        };

    /// <summary>A draft; its attachments change only under the store's lock.</summary>
    internal sealed class Draft(string id, GraphCaller owner, JsonElement? json, byte[]? mime, long bodySize)
    {
        public string Id { get; } = id;

        public GraphCaller Owner { get; } = owner;

        public JsonElement? Json { get; } = json;

        public byte[]? Mime { get; } = mime;

        public List<MailAttachment> Attachments { get; } = [];

        public long Sequence { get; set; }

        public DateTimeOffset CreatedAt { get; } = DateTimeOffset.UtcNow;

        public long Size => bodySize + Attachments.Sum(attachment => EncodedSize(attachment.Content.Length));
    }

    /// <summary>An attachment upload session; its progress changes only under the store's lock.</summary>
    internal sealed class Upload(string id, Draft draft, GraphCaller caller, string name, string contentType, long size, bool isInline, string? contentId, string authToken, DateTimeOffset expiresAt)
    {
        public string Id { get; } = id;

        public Draft Draft { get; } = draft;

        public GraphCaller Caller { get; } = caller;

        public string Name { get; } = name;

        public string ContentType { get; } = contentType;

        public long Size { get; } = size;

        public bool IsInline { get; } = isInline;

        public string? ContentId { get; } = contentId;

        public string AuthToken { get; } = authToken;

        public DateTimeOffset ExpiresAt { get; } = expiresAt;

        public byte[] Content { get; } = new byte[size];

        public long Next { get; set; }
    }
}
