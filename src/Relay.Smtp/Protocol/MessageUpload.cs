using System.Buffers;
using Relay.Contracts;
using Relay.Smtp.Delivery;

namespace Relay.Smtp.Protocol;

/// <summary>
/// One message's content on its way to Relay.Sender, shared by DATA (read once) and BDAT (read chunk by chunk).
/// The envelope goes first; content is streamed as it arrives, cut off (but still read) beyond
/// <c>Smtp:MaxMessageSize</c> (RFC 1870 §6.3), and the verdict is ours when the content is unacceptable, else Relay.Sender's.
/// </summary>
public sealed class MessageUpload : IDisposable
{
    // Body chunks sent to Relay.Sender: large enough to amortise a gRPC message, small enough to stay off the LOH.
    private const int ChunkSize = 64 * 1024;

    private readonly IMessageSubmission _submission;
    private readonly long _maxSize;
    private long _received;

    private MessageUpload(IMessageSubmission submission, ContentFilter filter, long maxSize)
    {
        _submission = submission;
        Filter = filter;
        _maxSize = maxSize;
    }

    public ContentFilter Filter { get; }

    /// <summary>More content arrived than <c>Smtp:MaxMessageSize</c> allows; the rest is read but not passed on.</summary>
    public bool TooBig => _received > _maxSize;

    /// <summary>Sends the envelope to Relay.Sender; null when it cannot be reached.</summary>
    public static async Task<MessageUpload?> BeginAsync(SmtpSession session, MailTransaction transaction, ContentFilter filter)
    {
        var envelope = new Envelope
        {
            QueueId = transaction.QueueId,
            MailFrom = transaction.ReversePath,
            Identity = session.Identity ?? string.Empty,
            Client = session.ClientInfo,
            TraceHeader = session.BuildReceivedHeader(transaction),
            DeclaredSize = transaction.DeclaredSize,
            Login = session.Login,
        };
        envelope.Recipients.AddRange(transaction.Recipients);

        // In-flight transactions finish even while the host is stopping, so nothing here takes the stopping token.
        var submission = await session.Sender.BeginSubmissionAsync(envelope, CancellationToken.None);
        return submission is null ? null : new MessageUpload(submission, filter, session.Options.MaxMessageSize);
    }

    /// <summary>Reads content through <see cref="Filter"/> to the end of DATA or of the current BDAT chunk.</summary>
    public ValueTask<DataReadStatus> ReadAsync(SmtpSession session) => ReadThroughAsync(session, Filter, WriteAsync);

    /// <summary>Reads and throws away a BDAT chunk that cannot be accepted, so its bytes are not taken for commands.</summary>
    public static async ValueTask<DataReadStatus> DiscardChunkAsync(SmtpSession session, long size)
    {
        var filter = ContentFilter.ForChunks(BareLineFeedHandling.Normalize, int.MaxValue);
        filter.BeginChunk(size);
        return size == 0 ? DataReadStatus.Completed : await ReadThroughAsync(session, filter, static (_, _) => ValueTask.CompletedTask);
    }

    /// <summary>The verdict once all content is in: ours when it is too big or malformed, else Relay.Sender's.</summary>
    public async Task<SmtpReply> CompleteAsync(TimeSpan timeout) =>
        TooBig ? SmtpReplies.MessageTooBig
        : Filter.Rejection ?? await _submission.CompleteAsync(timeout);

    /// <summary>Abandons the message if it was not completed: Relay.Sender discards it.</summary>
    public void Dispose() => _submission.Dispose();

    private ValueTask WriteAsync(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken)
    {
        _received += chunk.Length;
        return TooBig ? ValueTask.CompletedTask : _submission.WriteAsync(chunk, cancellationToken);
    }

    private static async ValueTask<DataReadStatus> ReadThroughAsync(
        SmtpSession session, ContentFilter filter, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> onChunk)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            return await session.Transport.ReadContentAsync(filter, buffer.AsMemory(0, ChunkSize), onChunk, session.DataPace, CancellationToken.None);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
