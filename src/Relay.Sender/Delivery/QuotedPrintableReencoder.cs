using System.Buffers.Text;
using System.Text;
using MimeKit;
using MimeKit.Encodings;

namespace Relay.Sender.Delivery;

/// <summary>The edits that turn a message's quoted-printable parts into base64, and how many parts they touch.</summary>
public sealed record QuotedPrintableReencoding(IReadOnlyList<ByteSplice> Splices, int Parts)
{
    public static QuotedPrintableReencoding None { get; } = new([], 0);
}

/// <summary>
/// Re-encodes quoted-printable leaf parts as base64, because Microsoft Graph's MIME conversion mangles some
/// quoted-printable HTML (a soft line break followed by what looks like a hex digit). Nothing else changes: the message
/// is not written out again by a MIME library but spliced, so headers, boundaries, preamble, epilogue and every other
/// part keep their bytes. Of each re-encoded part only the value of its <c>Content-Transfer-Encoding</c> field (now
/// <c>base64</c>) and its content change; the content decodes to the same bytes as before, decoded exactly as MimeKit
/// decodes quoted-printable (leniently: a malformed escape or soft break is kept as it is, not refused).
/// </summary>
/// <remarks>
/// Left alone, whatever their encoding:
/// <list type="bullet">
/// <item>everything under <c>multipart/signed</c>: the signature covers the signed part's bytes, so re-encoding them
/// would break an S/MIME or PGP signature;</item>
/// <item><c>application/pkcs7-mime</c> (S/MIME opaque-signed or encrypted) and everything under <c>multipart/encrypted</c>;</item>
/// <item>everything inside an attached message (<c>message/rfc822</c> and the like): those are the attached message's own
/// bytes, which may be signed too; and <c>message/*</c> leaves, which RFC 2046 forbids to be base64;</item>
/// <item>a part with more than one <c>Content-Transfer-Encoding</c> field: which one counts is anybody's guess.</item>
/// </list>
/// The message is held in memory: the MIME path carries at most <c>Graph:MimeSizeLimit</c> (3 MiB).
/// </remarks>
public static class QuotedPrintableReencoder
{
    /// <summary>Decoded bytes per base64 line: 57 bytes make 76 characters, the most RFC 2045 §6.8 allows.</summary>
    private const int BytesPerLine = 57;

    /// <summary>Whether "quoted-printable", in any case, appears anywhere in the message.</summary>
    private static bool MentionsQuotedPrintable(ReadOnlySpan<byte> message)
    {
        var token = "quoted-printable"u8;
        for (var start = message.IndexOfAny((byte)'q', (byte)'Q'); start >= 0 && message.Length - start >= token.Length;)
        {
            if (Ascii.EqualsIgnoreCase(message.Slice(start, token.Length), token))
            {
                return true;
            }
            var next = message[(start + 1)..].IndexOfAny((byte)'q', (byte)'Q');
            start = next < 0 ? -1 : start + 1 + next;
        }
        return false;
    }

    /// <summary>The splices that re-encode every quoted-printable part; none when there is nothing to re-encode.</summary>
    public static QuotedPrintableReencoding Find(byte[] message)
    {
        // Most messages have no quoted-printable part, and a part is re-encoded only when its Content-Transfer-Encoding
        // value is literally "quoted-printable" (a token: never folded inside, never an encoded-word), so without those
        // bytes there is nothing to find and no reason to parse the message.
        if (!MentionsQuotedPrintable(message))
        {
            return QuotedPrintableReencoding.None;
        }
        using var stream = new MemoryStream(message, writable: false);
        var finder = new PartFinder(stream, message);
        try
        {
            finder.ReadMessage();
        }
        catch (FormatException)
        {
            // MimeKit parses almost anything; what it cannot parse goes to Graph as the client wrote it.
            return QuotedPrintableReencoding.None;
        }
        return finder.Splices.Count == 0 ? QuotedPrintableReencoding.None : new QuotedPrintableReencoding(finder.Splices, finder.Parts);
    }

    /// <summary>The message with every quoted-printable part re-encoded as base64 (the same array when there is none).</summary>
    public static byte[] Reencode(byte[] message) =>
        Find(message) is { Parts: > 0 } reencoding ? ByteSplice.Apply([], message, reencoding.Splices) : message;

    /// <summary>Base64 of what the quoted-printable content decodes to, in lines of 76 characters.</summary>
    private static byte[] ToBase64(byte[] message, int start, int length, ReadOnlySpan<byte> newLine)
    {
        var decoder = new QuotedPrintableDecoder();
        var decoded = new byte[decoder.EstimateOutputLength(length)];
        var decodedLength = decoder.Decode(message, start, length, decoded);

        var lines = (decodedLength + BytesPerLine - 1) / BytesPerLine;
        // Content that ended with a line break (a top-level part) still does; content that did not (the line break
        // before a boundary belongs to the boundary) still does not.
        var breaks = Math.Max(lines - 1, 0) + (lines > 0 && message.AsSpan(start, length).EndsWith("\n"u8) ? 1 : 0);
        var base64 = new byte[Base64.GetMaxEncodedToUtf8Length(decodedLength) + breaks * newLine.Length];
        var written = 0;
        for (var line = 0; line < lines; line++)
        {
            if (line > 0)
            {
                newLine.CopyTo(base64.AsSpan(written));
                written += newLine.Length;
            }
            var chunk = decoded.AsSpan(line * BytesPerLine, Math.Min(BytesPerLine, decodedLength - line * BytesPerLine));
            Base64.EncodeToUtf8(chunk, base64.AsSpan(written), out _, out var encoded);
            written += encoded;
        }
        if (written < base64.Length)
        {
            newLine.CopyTo(base64.AsSpan(written));
        }
        return base64;
    }

    /// <summary>Where the header field that starts at <paramref name="offset"/> ends: after its last continuation line.</summary>
    private static int FieldEnd(byte[] message, int offset, int limit)
    {
        var position = offset;
        do
        {
            var newLine = Array.IndexOf(message, (byte)'\n', position, limit - position);
            position = newLine < 0 ? limit : newLine + 1;
        }
        while (position < limit && message[position] is (byte)' ' or (byte)'\t');
        return position;
    }

    /// <summary>Walks the MIME structure with MimeKit's reader, which reports where each header and each content is.</summary>
    private sealed class PartFinder(Stream stream, byte[] message) : MimeReader(stream, MimeFormat.Entity)
    {
        /// <summary>One entry per open multipart or attached message: true when everything under it is left alone.</summary>
        private readonly Stack<bool> _leftAlone = new();
        private List<Header> _headers = [];
        private Header? _encoding;

        public List<ByteSplice> Splices { get; } = [];

        public int Parts { get; private set; }

        private bool InsideLeftAlone => _leftAlone.Count > 0 && _leftAlone.Peek();

        protected override void OnHeadersBegin(long beginOffset, int beginLineNumber, CancellationToken cancellationToken) =>
            _headers = [];

        protected override void OnHeaderRead(Header header, int beginLineNumber, CancellationToken cancellationToken) =>
            _headers.Add(header);

        protected override void OnMultipartBegin(ContentType contentType, long beginOffset, int beginLineNumber, CancellationToken cancellationToken) =>
            _leftAlone.Push(InsideLeftAlone
                || contentType.IsMimeType("multipart", "signed")
                || contentType.IsMimeType("multipart", "encrypted"));

        protected override void OnMultipartEnd(ContentType contentType, long beginOffset, int beginLineNumber, long headersEndOffset,
            long endOffset, int lines, CancellationToken cancellationToken) => _leftAlone.Pop();

        protected override void OnMessagePartBegin(ContentType contentType, long beginOffset, int beginLineNumber, CancellationToken cancellationToken) =>
            _leftAlone.Push(true);

        protected override void OnMessagePartEnd(ContentType contentType, long beginOffset, int beginLineNumber, long headersEndOffset,
            long endOffset, int lines, CancellationToken cancellationToken) => _leftAlone.Pop();

        protected override void OnMimePartBegin(ContentType contentType, long beginOffset, int beginLineNumber, CancellationToken cancellationToken)
        {
            _encoding = null;
            if (InsideLeftAlone
                || contentType.MediaType.Equals("message", StringComparison.OrdinalIgnoreCase)
                || contentType.IsMimeType("application", "pkcs7-mime")
                || contentType.IsMimeType("application", "x-pkcs7-mime"))
            {
                return;
            }
            var encodings = _headers.Where(h => h.Id == HeaderId.ContentTransferEncoding).Take(2).ToArray();
            if (encodings is [{ Offset: not null } only]
                && only.Value.Trim().Equals("quoted-printable", StringComparison.OrdinalIgnoreCase))
            {
                _encoding = only;
            }
        }

        protected override void OnMimePartContentEnd(long beginOffset, int beginLineNumber, long endOffset, int lines,
            NewLineFormat? newLineFormat, CancellationToken cancellationToken)
        {
            if (_encoding is not { Offset: { } fieldOffset })
            {
                return;
            }
            _encoding = null;
            var contentStart = (int)beginOffset;
            var field = (int)fieldOffset;
            var colon = Array.IndexOf(message, (byte)':', field, contentStart - field);
            if (colon < 0)
            {
                return;
            }
            var fieldEnd = FieldEnd(message, field, contentStart);
            var fieldNewLine = message.AsSpan(field, fieldEnd - field) switch
            {
                var f when f.EndsWith("\r\n"u8) => "\r\n",
                var f when f.EndsWith("\n"u8) => "\n",
                _ => string.Empty,
            };

            // The field name stays as the client wrote it; only its value changes.
            Splices.Add(new ByteSplice(colon + 1, fieldEnd - colon - 1, Encoding.ASCII.GetBytes(" base64" + fieldNewLine)));
            var contentLength = (int)endOffset - contentStart;
            Splices.Add(new ByteSplice(contentStart, contentLength,
                ToBase64(message, contentStart, contentLength, fieldNewLine is "\n" ? "\n"u8 : "\r\n"u8)));
            Parts++;
        }
    }
}
