using System.Security.Cryptography;
using MimeKit;
using MimeKit.IO;
using MimeKit.Utils;

namespace Relay.Bench.Load;

/// <summary>
/// The message every MailKit cell sends: a short text body and a base64 attachment that brings it to the cell's size.
/// Graph needs the attachment: a large message goes out as a draft, and a draft's body cannot exceed one request.
/// The attachment is already base64 text, so MimeKit copies it rather than encoding 10 MiB per message, and every
/// sender shares one copy of it (each message reads it through its own stream).
/// </summary>
internal sealed class BenchMessage
{
    private const int LineLength = 76; // RFC 2045 §6.8: base64 lines of at most 76 characters.
    private static readonly Dictionary<int, byte[]> Attachments = [];
    private static readonly Lock Gate = new();

    private BenchMessage(MimeMessage message, long size)
    {
        Message = message;
        Size = size;
    }

    public MimeMessage Message { get; }

    /// <summary>The message's size on the wire, before dot-stuffing (there is nothing to stuff).</summary>
    public long Size { get; }

    /// <summary>A message of about <paramref name="size"/> bytes, owned by one sender: set its From and Message-ID, then send it.</summary>
    public static BenchMessage Create(int size)
    {
        var empty = Build(ReadOnlyMemory<byte>.Empty);
        var overhead = Measure(empty);
        byte[] attachment;
        lock (Gate)
        {
            if (!Attachments.TryGetValue(size, out attachment!))
            {
                attachment = Base64Lines((int)Math.Max(0, size - overhead));
                Attachments[size] = attachment;
            }
        }
        var message = Build(attachment);
        return new BenchMessage(message, Measure(message));
    }

    /// <summary>Readies the message for its next send as <paramref name="from"/>.</summary>
    public void Address(MailboxAddress from)
    {
        Message.From.Clear();
        Message.From.Add(from);
        Message.MessageId = MimeUtils.GenerateMessageId("bench.localhost");
    }

    private static MimeMessage Build(ReadOnlyMemory<byte> base64)
    {
        var message = new MimeMessage { Subject = "Relay benchmark" };
        message.From.Add(MailboxAddress.Parse("mailbox0@contoso.com"));
        message.To.Add(MailboxAddress.Parse("rcpt@fabrikam.com"));
        message.MessageId = MimeUtils.GenerateMessageId("bench.localhost");
        var text = new TextPart("plain") { Text = "A message from Relay's benchmark harness.\r\n" };
        var data = new MimePart("application", "octet-stream")
        {
            FileName = "payload.bin",
            ContentTransferEncoding = ContentEncoding.Base64,
            Content = new MimeContent(new ReadOnlyMemoryStream(base64), ContentEncoding.Base64),
        };
        message.Body = new Multipart("mixed") { text, data };
        return message;
    }

    private static long Measure(MimeMessage message)
    {
        using var measuring = new MeasuringStream();
        message.WriteTo(measuring);
        return measuring.Length;
    }

    /// <summary>Random base64 text in whole 76-character lines (CRLF-terminated), about <paramref name="length"/> bytes.</summary>
    private static byte[] Base64Lines(int length)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        var lines = Math.Max(1, length / (LineLength + 2));
        var bytes = new byte[lines * (LineLength + 2)];
        var random = RandomNumberGenerator.GetBytes(bytes.Length);
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (i % (LineLength + 2)) switch
            {
                LineLength => (byte)'\r',
                LineLength + 1 => (byte)'\n',
                _ => (byte)alphabet[random[i] & 63],
            };
        }
        return bytes;
    }

    /// <summary>A read-only, seekable stream over shared memory: each message gets its own position.</summary>
    private sealed class ReadOnlyMemoryStream(ReadOnlyMemory<byte> memory) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => memory.Length;
        public override long Position { get; set; }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var remaining = memory.Span[(int)Math.Min(Position, memory.Length)..];
            var read = Math.Min(remaining.Length, buffer.Length);
            remaining[..read].CopyTo(buffer);
            Position += read;
            return read;
        }

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => Position + offset,
            _ => memory.Length + offset,
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
