using System.Buffers;
using Relay.Contracts;
using Relay.Smtp.Delivery;

namespace Relay.Smtp.Protocol;

/// <summary>
/// DATA (RFC 5321 §4.1.1.4). The envelope goes to Relay.Sender before 354 is sent, the body is streamed to it as it
/// arrives, and the final reply is Relay.Sender's verdict: 250 only once the message has been handed on.
/// </summary>
public sealed class DataCommand : ISmtpCommand
{
    public const string Command = "DATA";

    // Body chunks sent to Relay.Sender: large enough to amortise a gRPC message, small enough to stay off the LOH.
    private const int ChunkSize = 64 * 1024;

    public string Verb => Command;

    public async ValueTask<bool> ExecuteAsync(SmtpSession session, string argument, CancellationToken cancellationToken)
    {
        if (argument.Length > 0)
        {
            session.Error(SmtpReplies.SyntaxError("DATA"));
            return false;
        }

        var transaction = session.Transaction!;
        var envelope = new Envelope
        {
            QueueId = transaction.QueueId,
            MailFrom = transaction.ReversePath,
            Identity = session.Identity ?? string.Empty,
            Client = session.ClientInfo,
            TraceHeader = session.BuildReceivedHeader(transaction),
            DeclaredSize = transaction.DeclaredSize,
        };
        envelope.Recipients.AddRange(transaction.Recipients);
        session.EndTransaction();

        // In-flight transactions finish even while the host is stopping, so the body is read without the stopping token.
        await using var submission = await session.Sender.BeginSubmissionAsync(envelope, CancellationToken.None);
        if (submission is null)
        {
            session.Reply(SmtpReplies.ServiceUnavailable);
            return true;
        }
        session.Reply(SmtpReplies.StartMailInput);

        var unstuffer = new DotUnstuffer(session.Options.BareLineFeed);
        var body = new BodyLimiter(submission, session.Options.MaxMessageSize);
        var chunk = ArrayPool<byte>.Shared.Rent(ChunkSize);
        DataReadStatus status;
        session.Transport.ReadTimeout = session.Options.DataTimeout;
        try
        {
            status = await session.Transport.ReadDataAsync(unstuffer, chunk.AsMemory(0, ChunkSize), body.WriteAsync, CancellationToken.None);
        }
        catch (TimeoutException)
        {
            session.Close(SmtpReplies.Timeout);
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        if (status == DataReadStatus.EndOfStream)
        {
            // The client went away mid-message: disposing the submission cancels it, nothing is sent.
            session.Abandon();
            return true;
        }

        var reply = body.Exceeded ? SmtpReplies.MessageTooBig
            : unstuffer.SawBareLineFeed && unstuffer.BareLineFeed == BareLineFeedHandling.Reject ? SmtpReplies.BareLineFeedRejected
            : await submission.CompleteAsync(session.Options.SubmissionTimeout);
        session.Reply(reply);
        return true;
    }

    /// <summary>Passes the body on until it exceeds the size limit, then only counts (RFC 1870 §6.3: read to the end, then 552).</summary>
    private sealed class BodyLimiter(IMessageSubmission submission, long maxSize)
    {
        private long _received;

        public bool Exceeded => _received > maxSize;

        public ValueTask WriteAsync(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken)
        {
            _received += chunk.Length;
            return Exceeded ? ValueTask.CompletedTask : submission.WriteAsync(chunk, cancellationToken);
        }
    }
}
