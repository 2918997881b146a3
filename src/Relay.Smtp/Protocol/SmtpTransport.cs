using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace Relay.Smtp.Protocol;

public enum LineReadStatus { Line, TooLong, EndOfStream }

public readonly record struct LineReadResult(LineReadStatus Status, string Text)
{
    public static LineReadResult TooLong { get; } = new(LineReadStatus.TooLong, string.Empty);
    public static LineReadResult EndOfStream { get; } = new(LineReadStatus.EndOfStream, string.Empty);
}

public enum DataReadStatus { Completed, EndOfStream }

/// <summary>
/// The byte side of an SMTP session over a pipe pair. Replies are buffered and flushed only when the client has
/// nothing more pending, which is what PIPELINING (RFC 2920 §3.1) asks of a server. Reads time out after
/// <see cref="ReadTimeout"/> with <see cref="TimeoutException"/>.
/// </summary>
public sealed class SmtpTransport(PipeReader input, PipeWriter output)
{
    private bool _discarding;
    // True after a read left only an incomplete line: the next read must wait for new bytes instead of re-reading.
    private bool _mustWait;

    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromMinutes(5);

    public void Write(SmtpReply reply) => reply.WriteTo(output);

    public async ValueTask FlushAsync(CancellationToken cancellationToken) => await output.FlushAsync(cancellationToken);

    public async ValueTask<LineReadResult> ReadLineAsync(int maxLength, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var status = SmtpLineParser.TryReadLine(ref buffer, maxLength, ref _discarding, out var line);
            if (status == LineParseStatus.NeedMoreData)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                _mustWait = true;
                if (result.IsCompleted)
                {
                    return LineReadResult.EndOfStream;
                }
                continue;
            }

            var text = status == LineParseStatus.Line ? Encoding.UTF8.GetString(line) : string.Empty;
            input.AdvanceTo(buffer.Start);
            return status == LineParseStatus.Line ? new LineReadResult(LineReadStatus.Line, text) : LineReadResult.TooLong;
        }
    }

    /// <summary>
    /// Reads DATA content up to and including the end-of-data line, unstuffed, handing it to
    /// <paramref name="onChunk"/> in pieces of at most <paramref name="chunk"/>'s length.
    /// </summary>
    public async ValueTask<DataReadStatus> ReadDataAsync(
        DotUnstuffer unstuffer,
        Memory<byte> chunk,
        Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> onChunk,
        CancellationToken cancellationToken)
    {
        var filled = 0;
        while (true)
        {
            var result = await ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            OperationStatus status;
            do
            {
                status = Unstuff(unstuffer, ref buffer, chunk.Span[filled..], out var written);
                filled += written;
                if (status == OperationStatus.DestinationTooSmall || status == OperationStatus.Done && filled > 0)
                {
                    await onChunk(chunk[..filled], cancellationToken);
                    filled = 0;
                }
            }
            while (status == OperationStatus.DestinationTooSmall);

            input.AdvanceTo(buffer.Start);
            if (status == OperationStatus.Done)
            {
                return DataReadStatus.Completed;
            }
            _mustWait = true;
            if (result.IsCompleted)
            {
                return DataReadStatus.EndOfStream;
            }
        }
    }

    private static OperationStatus Unstuff(
        DotUnstuffer unstuffer, ref ReadOnlySequence<byte> buffer, Span<byte> destination, out int written)
    {
        written = 0;
        while (!buffer.IsEmpty)
        {
            var status = unstuffer.Transform(buffer.FirstSpan, destination[written..], out var consumed, out var count);
            written += count;
            buffer = buffer.Slice(consumed);
            if (status != OperationStatus.NeedMoreData)
            {
                return status;
            }
        }
        return OperationStatus.NeedMoreData;
    }

    private async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken)
    {
        if (!_mustWait && input.TryRead(out var buffered))
        {
            return buffered;
        }
        _mustWait = false;
        await output.FlushAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ReadTimeout);
        try
        {
            return await input.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No data from the client within {ReadTimeout}.");
        }
    }
}
