using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Security;
using System.Text;
using Relay.Smtp.Hosting;

namespace Relay.Smtp.Protocol;

public enum LineReadStatus { Line, TooLong, EndOfStream }

public readonly record struct LineReadResult(LineReadStatus Status, string Text)
{
    public static LineReadResult TooLong { get; } = new(LineReadStatus.TooLong, string.Empty);
    public static LineReadResult EndOfStream { get; } = new(LineReadStatus.EndOfStream, string.Empty);
}

public enum DataReadStatus { Completed, EndOfStream }

/// <summary>How long a client may take to send content (RFC 5321 §4.5.3.2.5, and a floor on the rate against slowloris).</summary>
/// <param name="BlockTimeout">Longest wait for the next bytes.</param>
/// <param name="MinBytesPerSecond">Slowest average rate accepted once <paramref name="GracePeriod"/> has passed; 0 turns it off.</param>
public readonly record struct DataPace(TimeSpan BlockTimeout, int MinBytesPerSecond, TimeSpan GracePeriod);

/// <summary>The client did not send in time; <see cref="Reply"/> says how, for the 421 that ends the session.</summary>
public sealed class ClientTimeoutException(SmtpReply reply) : TimeoutException(reply.Text)
{
    public SmtpReply Reply { get; } = reply;
}

/// <summary>
/// The byte side of an SMTP session over a pipe pair, which STARTTLS can switch to TLS. Replies are buffered and
/// flushed only when the client has nothing more pending, which is what PIPELINING (RFC 2920 §3.1) asks of a server.
/// Reads that take too long end with <see cref="ClientTimeoutException"/>.
/// </summary>
public sealed class SmtpTransport(IDuplexPipe connection, TimeProvider time) : IAsyncDisposable
{
    private PipeReader _input = connection.Input;
    private PipeWriter _output = connection.Output;
    private SslStream? _tls;
    private bool _discarding;
    // True after a read left only an incomplete line: the next read must wait for new bytes instead of re-reading.
    private bool _mustWait;

    /// <summary>The negotiated TLS session, or null while the connection is in clear text.</summary>
    public TlsInfo? Tls { get; private set; }

    public void Write(SmtpReply reply) => reply.WriteTo(_output);

    public async ValueTask FlushAsync(CancellationToken cancellationToken) => await _output.FlushAsync(cancellationToken);

    /// <summary>Reads one line, which must arrive whole within <paramref name="timeout"/> (a trickle does not reset it).</summary>
    public async ValueTask<LineReadResult> ReadLineAsync(int maxLength, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = new CancellationTokenSource(timeout, time);
        while (true)
        {
            var result = await ReadAsync(deadline.Token, cancellationToken, SmtpReplies.Timeout);
            var buffer = result.Buffer;
            var status = SmtpLineParser.TryReadLine(ref buffer, maxLength, ref _discarding, out var line);
            if (status == LineParseStatus.NeedMoreData)
            {
                _input.AdvanceTo(buffer.Start, buffer.End);
                _mustWait = true;
                if (result.IsCompleted)
                {
                    return LineReadResult.EndOfStream;
                }
                continue;
            }

            var text = status == LineParseStatus.Line ? Encoding.UTF8.GetString(line) : string.Empty;
            _input.AdvanceTo(buffer.Start);
            return status == LineParseStatus.Line ? new LineReadResult(LineReadStatus.Line, text) : LineReadResult.TooLong;
        }
    }

    /// <summary>
    /// Reads message content through <paramref name="filter"/> until it reports the end (of DATA, or of a BDAT chunk),
    /// handing the output to <paramref name="onChunk"/> in pieces of at most <paramref name="chunk"/>'s length.
    /// </summary>
    public async ValueTask<DataReadStatus> ReadContentAsync(
        ContentFilter filter,
        Memory<byte> chunk,
        Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> onChunk,
        DataPace pace,
        CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        long received = 0;
        var filled = 0;
        using var blockTimeout = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        while (true)
        {
            blockTimeout.CancelAfter(pace.BlockTimeout);
            var result = await ReadAsync(blockTimeout.Token, cancellationToken, SmtpReplies.Timeout);
            blockTimeout.CancelAfter(Timeout.InfiniteTimeSpan);
            var buffer = result.Buffer;
            var before = buffer.Length;
            OperationStatus status;
            do
            {
                status = Filter(filter, ref buffer, chunk.Span[filled..], out var written);
                filled += written;
                if (status == OperationStatus.DestinationTooSmall || status == OperationStatus.Done && filled > 0)
                {
                    await onChunk(chunk[..filled], cancellationToken);
                    filled = 0;
                }
            }
            while (status == OperationStatus.DestinationTooSmall);

            received += before - buffer.Length;
            _input.AdvanceTo(buffer.Start);
            if (status == OperationStatus.Done)
            {
                return DataReadStatus.Completed;
            }
            _mustWait = true;
            if (result.IsCompleted)
            {
                return DataReadStatus.EndOfStream;
            }
            CheckPace(pace, started, received);
        }
    }

    /// <summary>
    /// Switches the connection to TLS: after STARTTLS (RFC 3207), or at once for implicit TLS (RFC 8314). After STARTTLS,
    /// anything the client sent behind the command is discarded, so no clear-text command can be injected into the TLS
    /// session (CVE-2011-0411). Returns how many bytes were discarded. Handshake failures surface as exceptions.
    /// </summary>
    public async Task<long> StartTlsAsync(
        SslServerAuthenticationOptions options, TimeSpan timeout, bool afterCommand, CancellationToken cancellationToken)
    {
        await _output.FlushAsync(cancellationToken);
        long discarded = 0;
        if (afterCommand && _input.TryRead(out var pending))
        {
            discarded = pending.Buffer.Length;
            _input.AdvanceTo(pending.Buffer.End);
        }
        _mustWait = false;
        _discarding = false;

        var tls = new SslStream(new DuplexPipeStream(_input, _output), leaveInnerStreamOpen: true);
        using var handshakeTimeout = new CancellationTokenSource(timeout, time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(handshakeTimeout.Token, cancellationToken);
        try
        {
            await tls.AuthenticateAsServerAsync(options, either.Token);
        }
        catch
        {
            CountHandshake(afterCommand, "failed", null);
            await tls.DisposeAsync();
            throw;
        }

        _tls = tls;
        _input = PipeReader.Create(tls, new StreamPipeReaderOptions(leaveOpen: true));
        _output = PipeWriter.Create(tls, new StreamPipeWriterOptions(leaveOpen: true));
        Tls = TlsInfo.From(tls);
        CountHandshake(afterCommand, "succeeded", Tls.Protocol);
        Activity.Current?.SetTag("tls.protocol.version", Tls.Protocol);
        return discarded;
    }

    private static void CountHandshake(bool afterCommand, string result, string? protocol) =>
        SmtpTelemetry.TlsHandshakes.Add(1, new KeyValuePair<string, object?>("mode", afterCommand ? "starttls" : "implicit"),
            new KeyValuePair<string, object?>("result", result), new KeyValuePair<string, object?>("tls.protocol.version", protocol));

    /// <summary>Ends TLS cleanly (close_notify) when it is in use; the connection's own pipes belong to the host.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_tls is null)
        {
            return;
        }
        await _input.CompleteAsync();
        await _output.CompleteAsync();
        try
        {
            await _tls.ShutdownAsync();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The client is already gone; there is nobody left to say goodbye to.
        }
        await _tls.DisposeAsync();
    }

    private void CheckPace(DataPace pace, long started, long received)
    {
        if (pace.MinBytesPerSecond <= 0)
        {
            return;
        }
        var elapsed = time.GetElapsedTime(started);
        if (elapsed > pace.GracePeriod && received < pace.MinBytesPerSecond * elapsed.TotalSeconds)
        {
            throw new ClientTimeoutException(SmtpReplies.DataRateTooLow);
        }
    }

    private static OperationStatus Filter(
        ContentFilter filter, ref ReadOnlySequence<byte> buffer, Span<byte> destination, out int written)
    {
        written = 0;
        while (!buffer.IsEmpty)
        {
            var status = filter.Transform(buffer.FirstSpan, destination[written..], out var consumed, out var count);
            written += count;
            buffer = buffer.Slice(consumed);
            if (status != OperationStatus.NeedMoreData)
            {
                return status;
            }
        }
        return OperationStatus.NeedMoreData;
    }

    private async ValueTask<ReadResult> ReadAsync(CancellationToken timeout, CancellationToken cancellationToken, SmtpReply onTimeout)
    {
        if (!_mustWait && _input.TryRead(out var buffered))
        {
            return buffered;
        }
        _mustWait = false;
        await _output.FlushAsync(cancellationToken);
        // Message content is read without a stopping token; only command reads need the two linked.
        using var either = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(timeout, cancellationToken) : null;
        try
        {
            return await _input.ReadAsync(either?.Token ?? timeout);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ClientTimeoutException(onTimeout);
        }
    }
}
