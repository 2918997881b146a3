using System.Buffers;

namespace Relay.Smtp.Protocol;

/// <summary>How DATA content with a bare line feed (LF not preceded by CR) is treated.</summary>
public enum BareLineFeedHandling
{
    /// <summary>The bare LF becomes CRLF in the content. It never starts a line that could end DATA.</summary>
    Normalize,
    /// <summary>The message is refused with <c>550 5.6.0</c> once DATA ends.</summary>
    Reject,
}

/// <summary>
/// Streaming filter over message content as it comes off the wire, for DATA and for BDAT chunks.
/// <list type="bullet">
/// <item>DATA (RFC 5321 §4.5.2, §4.1.1.4): removes dot-stuffing and finds the end of data, which is only ever
/// <c>CRLF . CRLF</c>. The bytes <c>LF.LF</c>, <c>CR.CR</c>, <c>LF.CRLF</c> and <c>CRLF.LF</c> never end the
/// message (SMTP smuggling).</item>
/// <item>BDAT (RFC 3030): passes exactly the announced number of octets, with no dot handling.</item>
/// </list>
/// Both normalise bare LF to CRLF and note what makes a message unacceptable (bare LF, NUL, over-long lines), so
/// the verdict can be given once the content has been read to its end. One small state is carried between buffers,
/// so content may arrive in segments of any size, down to one byte.
/// </summary>
public sealed class ContentFilter
{
    private enum State
    {
        /// <summary>At the start of a line, i.e. right after CRLF (DATA itself ends with one).</summary>
        LineStart,
        /// <summary>Inside a line.</summary>
        Text,
        /// <summary>A CR inside a line, not yet known to start a CRLF.</summary>
        CarriageReturn,
        /// <summary>A dot at the start of a line.</summary>
        Dot,
        /// <summary>A dot and a CR at the start of a line: one LF more ends the data.</summary>
        DotCarriageReturn,
    }

    // A step writes at most two bytes (CRLF for a bare LF).
    private const int MaxBytesPerStep = 2;
    private static readonly SearchValues<byte> LineBreaksAndNul = SearchValues.Create("\r\n\0"u8);

    private readonly bool _dotStuffed;
    private readonly int _maxLineLength;
    private State _state = State.LineStart;
    private int _lineLength;
    // BDAT only: octets of the current chunk not yet consumed.
    private long _chunkRemaining;

    private ContentFilter(bool dotStuffed, BareLineFeedHandling bareLineFeed, int maxLineLength)
    {
        _dotStuffed = dotStuffed;
        BareLineFeed = bareLineFeed;
        _maxLineLength = maxLineLength;
    }

    /// <summary>A filter for DATA: dot-stuffed content ending at <c>CRLF . CRLF</c>.</summary>
    /// <param name="maxLineLength">Longest text line, CRLF included (RFC 5321 §4.5.3.1.6: 1000).</param>
    public static ContentFilter ForData(BareLineFeedHandling bareLineFeed, int maxLineLength = 1000) =>
        new(dotStuffed: true, bareLineFeed, maxLineLength);

    /// <summary>A filter for BDAT: call <see cref="BeginChunk"/> before each chunk.</summary>
    public static ContentFilter ForChunks(BareLineFeedHandling bareLineFeed, int maxLineLength = 1000) =>
        new(dotStuffed: false, bareLineFeed, maxLineLength);

    public BareLineFeedHandling BareLineFeed { get; }

    /// <summary>True once a bare LF has been seen in the content.</summary>
    public bool SawBareLineFeed { get; private set; }

    /// <summary>True once a NUL octet has been seen (RFC 5321 §4.5.2 does not allow it in text; 8BITMIME excludes it).</summary>
    public bool SawNul { get; private set; }

    /// <summary>True once a line longer than the limit has been seen.</summary>
    public bool SawLongLine { get; private set; }

    /// <summary>The reply that refuses the content once it has been read, or null when it is acceptable.</summary>
    public SmtpReply? Rejection =>
        SawNul ? SmtpReplies.NulInContent
        : SawBareLineFeed && BareLineFeed == BareLineFeedHandling.Reject ? SmtpReplies.BareLineFeedRejected
        : SawLongLine ? SmtpReplies.ContentLineTooLong(_maxLineLength)
        : null;

    /// <summary>Starts a BDAT chunk of <paramref name="size"/> octets.</summary>
    public void BeginChunk(long size)
    {
        if (_dotStuffed)
        {
            throw new InvalidOperationException("A DATA filter has no chunks.");
        }
        _chunkRemaining = size;
    }

    /// <summary>
    /// Filters <paramref name="source"/> into <paramref name="destination"/>.
    /// </summary>
    /// <returns>
    /// <see cref="OperationStatus.Done"/> when the end-of-data line (DATA) or the last octet of the chunk (BDAT) was
    /// consumed; nothing after it is consumed.
    /// <see cref="OperationStatus.NeedMoreData"/> when all of the source was consumed,
    /// <see cref="OperationStatus.DestinationTooSmall"/> when the destination filled first.
    /// </returns>
    public OperationStatus Transform(ReadOnlySpan<byte> source, Span<byte> destination, out int consumed, out int written)
    {
        if (!_dotStuffed)
        {
            if (_chunkRemaining == 0)
            {
                consumed = written = 0;
                return OperationStatus.Done;
            }
            source = source[..(int)Math.Min(source.Length, _chunkRemaining)];
            var status = Filter(source, destination, out consumed, out written);
            _chunkRemaining -= consumed;
            return _chunkRemaining == 0 ? OperationStatus.Done : status;
        }
        return Filter(source, destination, out consumed, out written);
    }

    private OperationStatus Filter(ReadOnlySpan<byte> source, Span<byte> destination, out int consumed, out int written)
    {
        consumed = 0;
        written = 0;
        while (consumed < source.Length)
        {
            if (destination.Length - written < MaxBytesPerStep)
            {
                return OperationStatus.DestinationTooSmall;
            }

            var b = source[consumed];
            switch (_state)
            {
                case State.LineStart when b == (byte)'.' && _dotStuffed:
                    _state = State.Dot;
                    consumed++;
                    continue;
                case State.LineStart:
                    _state = State.Text;
                    continue;
                case State.Text:
                    var run = source[consumed..];
                    var stop = run.IndexOfAny(LineBreaksAndNul);
                    if (stop != 0)
                    {
                        var length = Math.Min(stop < 0 ? run.Length : stop, destination.Length - written);
                        run[..length].CopyTo(destination[written..]);
                        consumed += length;
                        written += length;
                        CountLine(length);
                        continue;
                    }
                    consumed++;
                    if (b == (byte)'\r')
                    {
                        destination[written++] = b;
                        CountLine(1);
                        _state = State.CarriageReturn;
                    }
                    else if (b == (byte)'\n')
                    {
                        written += WriteBareLineFeed(destination[written..]);
                    }
                    else
                    {
                        SawNul = true;
                        destination[written++] = b;
                        CountLine(1);
                    }
                    continue;
                case State.CarriageReturn when b == (byte)'\n':
                    destination[written++] = b;
                    consumed++;
                    EndLine(State.LineStart);
                    continue;
                case State.CarriageReturn:
                    // A bare CR is content; what follows it is read as text (another CR stays in this state).
                    _state = State.Text;
                    continue;
                case State.Dot when b == (byte)'\r':
                    _state = State.DotCarriageReturn;
                    consumed++;
                    continue;
                case State.Dot when b == (byte)'\n':
                    // "CRLF . LF" is not the end of data: keep the dot, treat the LF as bare.
                    destination[written++] = (byte)'.';
                    CountLine(1);
                    _state = State.Text;
                    continue;
                case State.Dot:
                    // A stuffed dot: the leading dot is removed (RFC 5321 §4.5.2).
                    _state = State.Text;
                    continue;
                case State.DotCarriageReturn when b == (byte)'\n':
                    consumed++;
                    EndLine(State.LineStart);
                    return OperationStatus.Done;
                case State.DotCarriageReturn:
                    // ". CR x": a line with more than the dot, so the dot goes and the CR is content.
                    destination[written++] = (byte)'\r';
                    CountLine(1);
                    _state = State.CarriageReturn;
                    continue;
            }
        }
        return OperationStatus.NeedMoreData;
    }

    // Counts the octets of a line, its CR included and its LF not, so a line of exactly the limit passes.
    private void CountLine(int octets)
    {
        _lineLength += octets;
        if (_lineLength >= _maxLineLength)
        {
            SawLongLine = true;
        }
    }

    private void EndLine(State next)
    {
        _lineLength = 0;
        _state = next;
    }

    private int WriteBareLineFeed(Span<byte> destination)
    {
        SawBareLineFeed = true;
        destination[0] = (byte)'\r';
        destination[1] = (byte)'\n';
        // Deliberately not LineStart: a dot after a bare LF can never end the data.
        EndLine(State.Text);
        return 2;
    }
}
