using Microsoft.Graph.Models;
using MimeKit;

namespace Relay.Sender.Delivery.Graph;

/// <summary>One part of the client's message that becomes a file attachment of the draft.</summary>
/// <param name="Entity">The MIME part; its content stays where the parser left it (the spool), decoded only as it is read.</param>
/// <param name="Name">The file name, decoded (RFC 2047 and RFC 2231), or one made up from the content type.</param>
/// <param name="ContentType">The media type, without parameters.</param>
/// <param name="IsInline">Shown in the body (it has a Content-ID and is not a declared attachment): <c>cid:</c> references keep working.</param>
/// <param name="ContentId">The Content-ID without angle brackets, if the part has one.</param>
public sealed record DraftAttachment(MimeEntity Entity, string Name, string ContentType, bool IsInline, string? ContentId)
{
    /// <summary>The decoded content from its first byte. A forwarded message (message/rfc822) is written out in memory.</summary>
    public Stream OpenContent()
    {
        switch (Entity)
        {
            case MimePart { Content: { } content }:
                return content.Open();
            case MessagePart { Message: { } message }:
                var buffer = new MemoryStream();
                message.WriteTo(buffer);
                buffer.Position = 0;
                return buffer;
            default:
                return Stream.Null;
        }
    }
}

/// <summary>The draft to create and the attachments to add to it, and what of the client's message it cannot carry.</summary>
/// <param name="Message">The JSON message resource for <c>POST /users/{mailbox}/messages</c>, without attachments.</param>
/// <param name="Attachments">Every part that is not the body, in the order of the message.</param>
/// <param name="Lost">What the draft leaves out, in words for the log (never content).</param>
public sealed record DraftPlan(Message Message, IReadOnlyList<DraftAttachment> Attachments, IReadOnlyList<string> Lost);

/// <summary>
/// Turns a parsed MIME message into a Graph draft (graph-facts §2): subject, one body (HTML when there is one, else
/// text), To/Cc/Bcc/Reply-To with display names, From, importance, a read-receipt request, at most 5 <c>X-</c> headers,
/// and every other part as a file attachment (inline ones keep their Content-ID). A JSON draft cannot carry the rest:
/// other header fields, the text alternative of an HTML body, the MIME structure itself.
/// </summary>
public static class DraftComposer
{
    /// <summary>Graph refuses more than 5 custom headers with 400 InvalidInternetMessageHeaderCollection (graph-facts §1).</summary>
    public const int MaxInternetMessageHeaders = 5;

    /// <param name="message">The client's message, parsed.</param>
    /// <param name="blindRecipients">
    /// The envelope recipients To and Cc do not name (<see cref="MessageHeaders.MissingFromHeaders"/>): the draft's Bcc, as
    /// the MIME path's Bcc: field. The client's own Bcc: field only lends them display names.
    /// </param>
    /// <param name="mailbox">The mailbox the draft is created in: the From when the message has none.</param>
    public static DraftPlan Compose(MimeMessage message, IReadOnlyList<string> blindRecipients, string mailbox)
    {
        var lost = new List<string>();
        var leaves = new List<(MimeEntity Leaf, Multipart? Alternative)>();
        if (message.Body is { } root)
        {
            Walk(root, null, leaves);
        }

        var body = leaves.FirstOrDefault(l => l.Leaf is TextPart { IsHtml: true, IsAttachment: false });
        if (body.Leaf is null)
        {
            body = leaves.FirstOrDefault(l => l.Leaf is TextPart { IsPlain: true, IsAttachment: false });
        }
        var attachments = new List<DraftAttachment>();
        foreach (var (leaf, alternative) in leaves)
        {
            if (ReferenceEquals(leaf, body.Leaf))
            {
                continue;
            }
            if (alternative is not null && ReferenceEquals(alternative, body.Alternative)
                && leaf is TextPart { IsAttachment: false } other && (other.IsPlain || other.IsHtml))
            {
                lost.Add($"the {other.ContentType.MimeType} alternative of the {((TextPart)body.Leaf!).ContentType.MimeType} body");
                continue;
            }
            attachments.Add(Attachment(leaf, attachments.Count + 1));
        }

        var draft = new Message
        {
            Subject = message.Subject ?? string.Empty,
            Body = body.Leaf is TextPart text
                ? new ItemBody { ContentType = text.IsHtml ? BodyType.Html : BodyType.Text, Content = text.Text }
                : new ItemBody { ContentType = BodyType.Text, Content = string.Empty },
            From = message.From.Mailboxes.FirstOrDefault() is { } from ? Recipient(from) : Recipient(mailbox, null),
            ToRecipients = [.. message.To.Mailboxes.Select(Recipient)],
            CcRecipients = [.. message.Cc.Mailboxes.Select(Recipient)],
            BccRecipients = [.. blindRecipients.Select(address => Recipient(address, NameIn(message.Bcc, address)))],
            ReplyTo = [.. message.ReplyTo.Mailboxes.Select(Recipient)],
            Importance = Importance(message),
            IsReadReceiptRequested = message.Headers.Contains(HeaderId.DispositionNotificationTo) ? true : null,
        };

        var custom = message.Headers
            .Where(h => h.Field.StartsWith("X-", StringComparison.OrdinalIgnoreCase) && !string.IsNullOrWhiteSpace(h.Value))
            .ToList();
        if (custom.Count > 0)
        {
            // An empty list has been reported to be refused too: none at all then.
            draft.InternetMessageHeaders = [.. custom.Take(MaxInternetMessageHeaders)
                .Select(h => new InternetMessageHeader { Name = h.Field, Value = h.Value.Trim() })];
        }
        if (custom.Count > MaxInternetMessageHeaders)
        {
            lost.Add($"{custom.Count - MaxInternetMessageHeaders} X- header fields beyond the first {MaxInternetMessageHeaders}");
        }
        return new DraftPlan(draft, attachments, lost);
    }

    /// <summary>Leaves in document order, each with its nearest multipart/alternative ancestor.</summary>
    private static void Walk(MimeEntity entity, Multipart? alternative, List<(MimeEntity, Multipart?)> leaves)
    {
        if (entity is Multipart multipart)
        {
            var inner = multipart.ContentType.IsMimeType("multipart", "alternative") ? multipart : alternative;
            foreach (var child in multipart)
            {
                Walk(child, inner, leaves);
            }
            return;
        }
        leaves.Add((entity, alternative));
    }

    private static DraftAttachment Attachment(MimeEntity entity, int number)
    {
        var mediaType = entity.ContentType.MimeType;
        var name = (entity as MimePart)?.FileName;
        if (string.IsNullOrWhiteSpace(name))
        {
            name = entity is MessagePart ? $"message{number}.eml"
                : $"attachment{number}{(MimeTypes.TryGetExtension(mediaType, out var extension) ? extension : ".bin")}";
        }
        var contentId = string.IsNullOrWhiteSpace(entity.ContentId) ? null : entity.ContentId;
        return new DraftAttachment(entity, name, mediaType, contentId is not null && !entity.IsAttachment, contentId);
    }

    /// <summary>The Importance: field; else X-Priority (1–2 high, 4–5 low); else Priority: (urgent, non-urgent); else normal.</summary>
    private static Importance Importance(MimeMessage message)
    {
        if (message.Headers.Contains(HeaderId.Importance))
        {
            return message.Importance switch
            {
                MessageImportance.High => Microsoft.Graph.Models.Importance.High,
                MessageImportance.Low => Microsoft.Graph.Models.Importance.Low,
                _ => Microsoft.Graph.Models.Importance.Normal,
            };
        }
        if (message.Headers.Contains(HeaderId.XPriority))
        {
            return message.XPriority switch
            {
                XMessagePriority.Highest or XMessagePriority.High => Microsoft.Graph.Models.Importance.High,
                XMessagePriority.Low or XMessagePriority.Lowest => Microsoft.Graph.Models.Importance.Low,
                _ => Microsoft.Graph.Models.Importance.Normal,
            };
        }
        return message.Priority switch
        {
            MessagePriority.Urgent => Microsoft.Graph.Models.Importance.High,
            MessagePriority.NonUrgent => Microsoft.Graph.Models.Importance.Low,
            _ => Microsoft.Graph.Models.Importance.Normal,
        };
    }

    private static string? NameIn(InternetAddressList list, string address) =>
        list.Mailboxes.FirstOrDefault(m => m.Address.Equals(address, StringComparison.OrdinalIgnoreCase))?.Name;

    private static Recipient Recipient(MailboxAddress mailbox) => Recipient(mailbox.Address, mailbox.Name);

    private static Recipient Recipient(string address, string? name) => new()
    {
        EmailAddress = new EmailAddress { Address = address, Name = string.IsNullOrWhiteSpace(name) ? null : name },
    };
}
