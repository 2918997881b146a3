using Grpc.Core;
using Microsoft.Extensions.Options;
using Relay.Contracts;
using Relay.Sender.Delivery;
using Relay.Sender.Identity;

namespace Relay.Sender.Submission;

/// <summary>
/// The gRPC face of Relay.Sender. Relay.Smtp is trusted to have authenticated the identity it forwards: the Sender is
/// only reachable inside the application (internal ingress in Container Apps, loopback on one machine).
/// </summary>
public sealed partial class MailSubmissionService(
    SmtpLogins logins,
    SubmissionProcessor processor,
    IOptions<DeliveryOptions> delivery,
    ILogger<MailSubmissionService> logger) : MailSubmission.MailSubmissionBase
{
    public override async Task<AuthenticateReply> Authenticate(AuthenticateRequest request, ServerCallContext context)
    {
        var result = await logins.VerifyAsync(request.Username, request.Password, context.CancellationToken);
        if (result.Principal is not { } principal)
        {
            var failure = result.Failure!;
            SenderTelemetry.AuthFailures.Add(1, new KeyValuePair<string, object?>("mechanism", request.Mechanism),
                new KeyValuePair<string, object?>("reason", failure.Reason));
            LogAuthFailed(logger, request.Client?.SessionId, request.Client?.Address, failure.Reason, failure.Reply.Code);
            return new AuthenticateReply { Succeeded = false, Reply = failure.Reply };
        }
        LogAuthSucceeded(logger, request.Client?.SessionId, principal.Kind, principal.Name);
        return new AuthenticateReply
        {
            Succeeded = true,
            Identity = principal.Name,
            Reply = result.Reply,
            LoginNeededForDelivery = principal.Credential is not null,
        };
    }

    public override async Task<SubmitReply> Submit(IAsyncStreamReader<SubmitRequest> requestStream, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        if (!await ReadNextAsync(requestStream, null, cancellationToken) || requestStream.Current.PartCase != SubmitRequest.PartOneofCase.Envelope)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "The first message of a submission must be the envelope."));
        }
        var envelope = requestStream.Current.Envelope;

        var options = delivery.Value;
        var spoolDirectory = options.SpoolDirectory ?? Path.Combine(Path.GetTempPath(), "relay-spool");
        await using var body = new MessageSpool(spoolDirectory, options.MemoryThreshold);
        SmtpReply? refusal = null;
        while (await ReadNextAsync(requestStream, envelope.QueueId, cancellationToken))
        {
            if (requestStream.Current.PartCase != SubmitRequest.PartOneofCase.Chunk)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "Only body chunks may follow the envelope."));
            }
            // After a failed write the rest is still read, so Relay.Smtp can finish its stream and pass on the reply.
            refusal ??= await SpoolAsync(body, requestStream.Current.Chunk.Memory, envelope.QueueId, spoolDirectory, cancellationToken);
        }

        // The stream ended normally, so the message is complete: only now is anything delivered.
        var reply = refusal ?? await processor.ProcessAsync(envelope, body, cancellationToken);
        return new SubmitReply { Reply = reply, QueueId = envelope.QueueId };
    }

    /// <summary>Adds a chunk to the spool; null when stored, else the 4xx for a disk that could not take it.</summary>
    private async Task<SmtpReply?> SpoolAsync(MessageSpool body, ReadOnlyMemory<byte> chunk, string queueId, string directory, CancellationToken cancellationToken)
    {
        try
        {
            await body.WriteAsync(chunk, cancellationToken);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            var reply = StorageErrors.ReplyFor(ex);
            LogSpoolFailed(logger, ex, queueId, directory, reply.Code, reply.EnhancedCode);
            return reply;
        }
    }

    /// <summary>
    /// Reads the next part of a submission. Relay.Smtp resets the stream when its client leaves mid-message (that is how
    /// it abandons one); the reset surfaces here as an IOException before the call's token is cancelled. It is an
    /// ordinary end, not a fault: nothing is delivered and the call ends as cancelled.
    /// </summary>
    private async Task<bool> ReadNextAsync(IAsyncStreamReader<SubmitRequest> requestStream, string? queueId, CancellationToken cancellationToken)
    {
        try
        {
            return await requestStream.MoveNext(cancellationToken);
        }
        catch (IOException ex)
        {
            LogSubmissionAbandoned(logger, queueId ?? "-", ex.Message);
            throw new RpcException(new Status(StatusCode.Cancelled, "The submission was abandoned by its sender."));
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Message {QueueId} could not be spooled to {Directory}; nothing delivered, answered {ReplyCode} {EnhancedCode}")]
    private static partial void LogSpoolFailed(ILogger logger, Exception exception, string queueId, string directory, int replyCode, string enhancedCode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Submission {QueueId} abandoned by Relay.Smtp before its end; nothing delivered ({Reason})")]
    private static partial void LogSubmissionAbandoned(ILogger logger, string queueId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "AUTH failed in session {SessionId} from {ClientAddress}: {Reason}, answered {ReplyCode}")]
    private static partial void LogAuthFailed(ILogger logger, string? sessionId, string? clientAddress, string reason, int replyCode);

    [LoggerMessage(Level = LogLevel.Information, Message = "AUTH succeeded in session {SessionId}: {Kind} login {Login}")]
    private static partial void LogAuthSucceeded(ILogger logger, string? sessionId, LoginKind kind, string login);
}
