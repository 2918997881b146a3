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
/// Streaming filter for the DATA phase (RFC 5321 §4.5.2, §4.1.1.4): removes dot-stuffing and finds the end of
/// data, which is only ever <c>CRLF . CRLF</c>. The bytes <c>LF.LF</c>, <c>CR.CR</c>, <c>LF.CRLF</c> and
/// <c>CRLF.LF</c> never end the message (SMTP smuggling). One small state is carried between buffers, so a message
/// may arrive in segments of any size, down to one byte.
/// </summary>
public sealed class DotUnstuffer(BareLineFeedHandling bareLineFeed = BareLineFeedHandling.Normalize)
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

    // A step writes at most two bytes (a held CR plus the current byte, or CRLF for a bare LF).
    private const int MaxBytesPerStep = 2;

    private State _state = State.LineStart;

    public BareLineFeedHandling BareLineFeed { get; } = bareLineFeed;

    /// <summary>True once a bare LF has been seen in the content.</summary>
    public bool SawBareLineFeed { get; private set; }

    /// <summary>
    /// Unstuffs <paramref name="source"/> into <paramref name="destination"/>.
    /// </summary>
    /// <returns>
    /// <see cref="OperationStatus.Done"/> when the end-of-data line was consumed (nothing after it is consumed),
    /// <see cref="OperationStatus.NeedMoreData"/> when all of the source was consumed,
    /// <see cref="OperationStatus.DestinationTooSmall"/> when the destination filled first.
    /// </returns>
    public OperationStatus Transform(ReadOnlySpan<byte> source, Span<byte> destination, out int consumed, out int written)
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
                case State.LineStart when b == (byte)'.':
                    _state = State.Dot;
                    consumed++;
                    continue;
                case State.LineStart:
                    _state = State.Text;
                    continue;
                case State.Text:
                    var run = source[consumed..];
                    var stop = run.IndexOfAny((byte)'\r', (byte)'\n');
                    if (stop != 0)
                    {
                        var length = Math.Min(stop < 0 ? run.Length : stop, destination.Length - written);
                        run[..length].CopyTo(destination[written..]);
                        consumed += length;
                        written += length;
                        continue;
                    }
                    consumed++;
                    if (b == (byte)'\r')
                    {
                        _state = State.CarriageReturn;
                    }
                    else
                    {
                        written += WriteBareLineFeed(destination[written..]);
                    }
                    continue;
                case State.CarriageReturn when b == (byte)'\n':
                    destination[written++] = (byte)'\r';
                    destination[written++] = (byte)'\n';
                    consumed++;
                    _state = State.LineStart;
                    continue;
                case State.CarriageReturn when b == (byte)'\r':
                    destination[written++] = (byte)'\r';
                    consumed++;
                    continue;
                case State.CarriageReturn:
                    destination[written++] = (byte)'\r';
                    _state = State.Text;
                    continue;
                case State.Dot when b == (byte)'\r':
                    _state = State.DotCarriageReturn;
                    consumed++;
                    continue;
                case State.Dot when b == (byte)'\n':
                    // "CRLF . LF" is not the end of data: keep the dot, treat the LF as bare.
                    destination[written++] = (byte)'.';
                    _state = State.Text;
                    continue;
                case State.Dot:
                    // A stuffed dot: the leading dot is removed (RFC 5321 §4.5.2).
                    _state = State.Text;
                    continue;
                case State.DotCarriageReturn when b == (byte)'\n':
                    consumed++;
                    _state = State.LineStart;
                    return OperationStatus.Done;
                case State.DotCarriageReturn:
                    // ". CR x": a line with more than the dot, so the dot goes; the CR is held as in text.
                    _state = State.CarriageReturn;
                    continue;
            }
        }
        return OperationStatus.NeedMoreData;
    }

    private int WriteBareLineFeed(Span<byte> destination)
    {
        SawBareLineFeed = true;
        destination[0] = (byte)'\r';
        destination[1] = (byte)'\n';
        // Deliberately not LineStart: a dot after a bare LF can never end the data.
        _state = State.Text;
        return 2;
    }
}
