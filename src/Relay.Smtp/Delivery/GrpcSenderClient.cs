using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Relay.Contracts;
using Relay.Smtp.Protocol;
using SmtpReply = Relay.Smtp.Protocol.SmtpReply;

namespace Relay.Smtp.Delivery;

/// <summary><see cref="ISenderClient"/> over the <c>MailSubmission</c> gRPC service.</summary>
public sealed partial class GrpcSenderClient(MailSubmission.MailSubmissionClient client, ILogger<GrpcSenderClient> logger)
    : ISenderClient
{
    // A login check is one token request at most; a minute is generous.
    private static readonly TimeSpan AuthenticateDeadline = TimeSpan.FromMinutes(1);

    public async Task<AuthenticateReply> AuthenticateAsync(AuthenticateRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await client.AuthenticateAsync(request, deadline: DateTime.UtcNow + AuthenticateDeadline,
                cancellationToken: cancellationToken);
        }
        catch (RpcException ex)
        {
            LogSenderUnreachable(logger, "AUTH", request.Client.SessionId, ex.StatusCode);
            var reply = SmtpReplies.AuthServiceUnavailable;
            return new AuthenticateReply
            {
                Succeeded = false,
                Reply = new Contracts.SmtpReply { Code = reply.Code, EnhancedCode = reply.EnhancedCode, Text = reply.Text },
            };
        }
    }

    public async Task<IMessageSubmission?> BeginSubmissionAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        var call = client.Submit(cancellationToken: cancellationToken);
        try
        {
            await call.RequestStream.WriteAsync(new SubmitRequest { Envelope = envelope }, cancellationToken);
            return new Submission(call, envelope, logger);
        }
        catch (RpcException ex)
        {
            LogSenderUnreachable(logger, "DATA", envelope.Client.SessionId, ex.StatusCode);
            call.Dispose();
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Relay.Sender unreachable for {Stage} in session {SessionId}: {Status}")]
    private static partial void LogSenderUnreachable(ILogger logger, string stage, string sessionId, StatusCode status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Submission {QueueId} failed in transit to Relay.Sender: {Status}")]
    private static partial void LogSubmissionFailed(ILogger logger, string queueId, StatusCode status);

    private sealed class Submission(
        AsyncClientStreamingCall<SubmitRequest, SubmitReply> call, Envelope envelope, ILogger logger) : IMessageSubmission
    {
        private bool _failed;

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken)
        {
            if (_failed)
            {
                return;
            }
            try
            {
                // The message is serialized before WriteAsync completes, so wrapping the caller's buffer is safe.
                await call.RequestStream.WriteAsync(new SubmitRequest { Chunk = UnsafeByteOperations.UnsafeWrap(chunk) }, cancellationToken);
            }
            catch (RpcException ex)
            {
                // Keep reading the client's DATA to the end; the verdict is 451 (or the Sender's own reply).
                LogSubmissionFailed(logger, envelope.QueueId, ex.StatusCode);
                _failed = true;
            }
        }

        public async Task<SmtpReply> CompleteAsync(TimeSpan timeout)
        {
            try
            {
                if (!_failed)
                {
                    await call.RequestStream.CompleteAsync();
                }
                var reply = await call.ResponseAsync.WaitAsync(timeout);
                return new SmtpReply(reply.Reply.Code, reply.Reply.EnhancedCode, reply.Reply.Text);
            }
            catch (RpcException ex)
            {
                LogSubmissionFailed(logger, envelope.QueueId, ex.StatusCode);
                return SmtpReplies.ServiceUnavailable;
            }
            catch (TimeoutException)
            {
                LogSubmissionFailed(logger, envelope.QueueId, StatusCode.DeadlineExceeded);
                return SmtpReplies.ServiceUnavailable;
            }
        }

        /// <summary>Disposing a call that has not completed cancels it, and Relay.Sender discards the message.</summary>
        public void Dispose() => call.Dispose();
    }
}
