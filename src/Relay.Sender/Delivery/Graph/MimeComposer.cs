using System.Diagnostics;
using System.Text;
using Relay.Contracts;

namespace Relay.Sender.Delivery.Graph;

/// <summary>The MIME to send, or the reply that says why it will not be sent.</summary>
/// <param name="Mime">The message as it goes to Graph (before base64); null when refused.</param>
/// <param name="Refusal">Why the message is not sent; null when <paramref name="Mime"/> is set.</param>
/// <param name="ReencodedParts">How many quoted-printable parts were re-encoded as base64.</param>
/// <param name="TooLarge">Refused only because it exceeds <see cref="GraphOptions.MimeSizeLimit"/>: the draft path can take it.</param>
public sealed record ComposedMime(byte[]? Mime, SmtpReply? Refusal, int ReencodedParts = 0, bool TooLarge = false);

/// <summary>
/// Builds the MIME that goes to Graph: Relay's Received: line, a Bcc: field naming the envelope recipients that To and
/// Cc do not (Graph has no separate envelope), then the client's message unchanged — apart from any Bcc: field of its
/// own, which is removed so that only envelope recipients receive a blind copy, and quoted-printable parts re-encoded as
/// base64 when <see cref="GraphOptions.ReencodeQuotedPrintable"/> is on. Nothing else is touched: the message is spliced,
/// never written out again by a MIME library.
/// </summary>
public static class MimeComposer
{
    /// <summary>
    /// Checks what Graph would do with the message against <paramref name="options"/> and composes it: refused when
    /// <see cref="GraphOptions.HeaderOnlyRecipients"/> rejects header-only recipients, when the mailbox cannot name one,
    /// or when the result exceeds <see cref="GraphOptions.MimeSizeLimit"/>.
    /// </summary>
    public static async Task<ComposedMime> ComposeAsync(OutboundMessage message, GraphOptions options, CancellationToken cancellationToken)
    {
        if (Refuse(message, options) is { } refusal)
        {
            return new ComposedMime(null, refusal);
        }

        var original = new byte[message.Body.Length];
        await message.Body.Rewind().ReadExactlyAsync(original, cancellationToken);
        var prefix = Prefix(message.Envelope.TraceHeader, message.Headers.MissingFromHeaders(message.Envelope.Recipients));
        var removals = message.Headers.HasBcc ? FieldRemovals(original, "Bcc") : [];
        var reencoding = options.ReencodeQuotedPrintable ? QuotedPrintableReencoder.Find(original) : QuotedPrintableReencoding.None;

        var mime = ByteSplice.Apply(prefix, original, removals.Concat(reencoding.Splices));
        var reencoded = reencoding.Parts;
        if (mime.Length > options.MimeSizeLimit && reencoded > 0)
        {
            // Base64 is larger than quoted-printable; a message that fits as the client wrote it goes as it was written.
            mime = ByteSplice.Apply(prefix, original, removals);
            reencoded = 0;
            Activity.Current?.SetTag("relay.mime.reencoding_skipped", "size");
        }
        if (mime.Length > options.MimeSizeLimit)
        {
            return new ComposedMime(null, Replies.Create(552, "5.3.4",
                $"Message exceeds the {options.MimeSizeLimit} bytes Microsoft Graph accepts in one request"), TooLarge: true);
        }
        Activity.Current?.SetTag("relay.mime.reencoded_parts", reencoded);
        return new ComposedMime(mime, null, reencoded);
    }

    /// <summary>
    /// What refuses a message whichever way it goes to Graph (MIME or draft): a mailbox that cannot name one, and header-only
    /// recipients when <see cref="GraphOptions.HeaderOnlyRecipients"/> is Reject. Null when it may go.
    /// </summary>
    public static SmtpReply? Refuse(OutboundMessage message, GraphOptions options)
    {
        if (!GraphMailbox.IsValid(message.Mailbox))
        {
            // SenderAuthorization refuses these already; this keeps a broken URL impossible whoever calls.
            return Replies.NotAMailbox("the mailbox", message.Mailbox);
        }
        if (options.HeaderOnlyRecipients == HeaderOnlyRecipientHandling.Reject
            && message.Headers.MissingFromEnvelope(message.Envelope.Recipients) is [var headerOnly, ..])
        {
            return Replies.HeaderOnlyRecipient(headerOnly);
        }
        return null;
    }

    public static byte[] Compose(string traceHeader, IReadOnlyList<string> blindRecipients, byte[] original, bool originalHasBcc,
        bool reencodeQuotedPrintable = false)
    {
        var removals = originalHasBcc ? FieldRemovals(original, "Bcc") : [];
        var reencoding = reencodeQuotedPrintable ? QuotedPrintableReencoder.Find(original) : QuotedPrintableReencoding.None;
        return ByteSplice.Apply(Prefix(traceHeader, blindRecipients), original, removals.Concat(reencoding.Splices));
    }

    /// <summary>Removes every occurrence of a header field, with its folded continuation lines, from the header block.</summary>
    public static byte[] RemoveHeaderField(byte[] message, string name) => ByteSplice.Apply([], message, FieldRemovals(message, name));

    private static byte[] Prefix(string traceHeader, IReadOnlyList<string> blindRecipients)
    {
        var prefix = new StringBuilder(traceHeader);
        if (blindRecipients.Count > 0)
        {
            // One address per folded line keeps every line far below RFC 5322's 998-octet limit.
            prefix.Append("Bcc: ").AppendJoin(",\r\n ", blindRecipients.Select(r => $"<{r}>")).Append("\r\n");
        }
        return Encoding.UTF8.GetBytes(prefix.ToString());
    }

    /// <summary>Splices that delete every occurrence of a field (with its continuation lines) from the top-level header block.</summary>
    private static List<ByteSplice> FieldRemovals(byte[] message, string name)
    {
        var removals = new List<ByteSplice>();
        var position = 0;
        var skipping = false;
        while (position < message.Length)
        {
            var end = Array.IndexOf(message, (byte)'\n', position);
            var next = end < 0 ? message.Length : end + 1;
            var line = message.AsSpan(position, next - position);
            if (line.TrimEnd("\r\n"u8).IsEmpty)
            {
                break; // The blank line ends the header block; the rest stays as it is.
            }
            var continuation = line[0] is (byte)' ' or (byte)'\t';
            if (!continuation)
            {
                skipping = IsField(line, name);
            }
            if (skipping)
            {
                if (removals.Count > 0 && removals[^1].Offset + removals[^1].Length == position)
                {
                    removals[^1] = removals[^1] with { Length = removals[^1].Length + line.Length };
                }
                else
                {
                    removals.Add(new ByteSplice(position, line.Length, ReadOnlyMemory<byte>.Empty));
                }
            }
            position = next;
        }
        return removals;
    }

    private static bool IsField(ReadOnlySpan<byte> line, string name)
    {
        var colon = line.IndexOf((byte)':');
        return colon > 0 && Ascii.EqualsIgnoreCase(line[..colon].TrimEnd(" \t"u8), name);
    }
}
