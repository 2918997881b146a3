using System.Buffers;

namespace Relay.Smtp.Protocol;

public enum LineParseStatus
{
    /// <summary>A whole line was read; the buffer now starts after its line feed.</summary>
    Line,
    /// <summary>A line longer than the limit ended; it was discarded up to and including its line feed.</summary>
    TooLong,
    /// <summary>No line feed yet. When discarding, the whole buffer was consumed; otherwise nothing was.</summary>
    NeedMoreData,
}

/// <summary>
/// Finds command lines in a buffer. A pure function over bytes: no I/O, no allocation beyond the line it returns.
/// The limit is enforced before anything is decoded, so a client that never sends a line feed costs at most
/// <c>maxLength</c> bytes of buffer.
/// </summary>
public static class SmtpLineParser
{
    /// <param name="buffer">Input; on return, what is left after the consumed part.</param>
    /// <param name="maxLength">Longest line accepted, counting its CRLF (RFC 5321 §4.5.3.1.4: 512 for commands).</param>
    /// <param name="discarding">Carried between calls: true while the rest of an over-long line is being thrown away.</param>
    /// <param name="line">The line without its CRLF (a lone LF is also accepted as a command terminator).</param>
    public static LineParseStatus TryReadLine(
        ref ReadOnlySequence<byte> buffer, int maxLength, ref bool discarding, out ReadOnlySequence<byte> line)
    {
        line = default;
        var lineFeed = buffer.PositionOf((byte)'\n');
        if (lineFeed is null)
        {
            if (discarding || buffer.Length >= maxLength)
            {
                discarding = true;
                buffer = buffer.Slice(buffer.End);
            }
            return LineParseStatus.NeedMoreData;
        }

        var content = buffer.Slice(0, lineFeed.Value);
        buffer = buffer.Slice(buffer.GetPosition(1, lineFeed.Value));
        if (discarding || content.Length + 1 > maxLength)
        {
            discarding = false;
            return LineParseStatus.TooLong;
        }

        if (content.Length > 0 && EndsWithCarriageReturn(content))
        {
            content = content.Slice(0, content.Length - 1);
        }
        line = content;
        return LineParseStatus.Line;
    }

    private static bool EndsWithCarriageReturn(in ReadOnlySequence<byte> content)
    {
        var last = content.Slice(content.Length - 1);
        return last.FirstSpan[0] == (byte)'\r';
    }
}
