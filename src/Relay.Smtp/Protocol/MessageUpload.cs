using System.Buffers;
using System.Diagnostics;
using Relay.Contracts;
using Relay.Smtp.Delivery;
using Relay.Smtp.Hosting;

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
    private readonly Activity? _activity;
    private long _received;

    private MessageUpload(IMessageSubmission submission, ContentFilter filter, long maxSize, Activity? activity)
    {
        _submission = submission;
        Filter = filter;
        _maxSize = maxSize;
        _activity = activity;
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

        // The transaction span is current while the gRPC call starts, so the call (and, through traceparent, all of
        // Relay.Sender's work on the message) is its child. This is an async method: Activity.Current is restored for
        // the caller when it returns, and the span stays open until the verdict (CompleteAsync) or Dispose.
        var activity = StartTransactionActivity(session, transaction);
        try
        {
            // In-flight transactions finish even while the host is stopping, so nothing here takes the stopping token.
            var submission = await session.Sender.BeginSubmissionAsync(envelope, CancellationToken.None);
            if (submission is null)
            {
                activity?.SetTag("relay.outcome", "deferred");
                activity?.SetTag("smtp.reply.code", SmtpReplies.ServiceUnavailable.Code);
                activity?.SetStatus(ActivityStatusCode.Error, "Relay.Sender unreachable");
                SmtpTelemetry.CountMessage(SmtpReplies.ServiceUnavailable.Code);
                activity?.Dispose();
                return null;
            }
            return new MessageUpload(submission, filter, session.Options.MaxMessageSize, activity);
        }
        catch
        {
            activity?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One trace per message: the transaction span is a root, not a child of the session span, because a session can
    /// carry many messages (and last for hours) and would otherwise put them all in one trace. It links to the session
    /// span instead, so a trace viewer can go from a message to its session. No addresses: the recipient count, and of
    /// the reverse-path only its domain (the local part names a person).
    /// </summary>
    private static Activity? StartTransactionActivity(SmtpSession session, MailTransaction transaction)
    {
        var sessionSpan = Activity.Current;
        ActivityLink[]? links = sessionSpan is { Source.Name: SmtpTelemetry.Name } ? [new ActivityLink(sessionSpan.Context)] : null;
        Activity.Current = null;
        var activity = SmtpTelemetry.Source.StartActivity("smtp.transaction", ActivityKind.Server, parentContext: default, links: links);
        if (activity is null)
        {
            Activity.Current = sessionSpan;
            return null;
        }
        activity.SetTag("relay.queue_id", transaction.QueueId);
        activity.SetTag("smtp.session.id", session.Id);
        activity.SetTag("client.address", session.RemoteAddress.ToString());
        activity.SetTag("network.protocol.name", "smtp");
        activity.SetTag("tls.protocol.version", session.Transport.Tls?.Protocol);
        activity.SetTag("relay.auth.kind", session.AuthKind);
        activity.SetTag("relay.recipients", transaction.Recipients.Count);
        activity.SetTag("relay.sender.domain", Domain(transaction.ReversePath));
        if (transaction.DeclaredSize > 0)
        {
            activity.SetTag("relay.message.declared_size", transaction.DeclaredSize);
        }
        return activity;
    }

    private static string Domain(string reversePath)
    {
        var at = reversePath.LastIndexOf('@');
        return at < 0 ? string.Empty : reversePath[(at + 1)..].ToLowerInvariant();
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
    public async Task<SmtpReply> CompleteAsync(TimeSpan timeout)
    {
        var reply = TooBig ? SmtpReplies.MessageTooBig
            : Filter.Rejection ?? await _submission.CompleteAsync(timeout);
        var outcome = SmtpTelemetry.Outcome(reply.Code);
        _activity?.SetTag("relay.message.size", _received);
        _activity?.SetTag("relay.outcome", outcome);
        _activity?.SetTag("smtp.reply.code", reply.Code);
        if (reply.Code >= 400)
        {
            _activity?.SetStatus(ActivityStatusCode.Error, outcome);
        }
        SmtpTelemetry.CountMessage(reply.Code);
        SmtpTelemetry.MessageBytes.Add(_received);
        _activity?.Dispose();
        return reply;
    }

    /// <summary>Abandons the message if it was not completed: Relay.Sender discards it.</summary>
    public void Dispose()
    {
        if (_activity is { IsStopped: false } activity)
        {
            activity.SetTag("relay.outcome", "abandoned");
            activity.SetTag("relay.message.size", _received);
            activity.Dispose();
        }
        _submission.Dispose();
    }

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
