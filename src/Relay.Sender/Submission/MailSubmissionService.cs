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
    RelayAccounts accounts,
    SubmissionProcessor processor,
    IOptions<DeliveryOptions> delivery,
    ILogger<MailSubmissionService> logger) : MailSubmission.MailSubmissionBase
{
    public override Task<AuthenticateReply> Authenticate(AuthenticateRequest request, ServerCallContext context)
    {
        var principal = accounts.Verify(request.Username, request.Password);
        if (principal is null)
        {
            SenderTelemetry.AuthFailures.Add(1, new KeyValuePair<string, object?>("mechanism", request.Mechanism));
            LogAuthFailed(logger, request.Client?.SessionId, request.Client?.Address);
            return Task.FromResult(new AuthenticateReply { Succeeded = false, Reply = Replies.AuthFailed });
        }
        return Task.FromResult(new AuthenticateReply { Succeeded = true, Identity = principal.Name, Reply = Replies.AuthSucceeded });
    }

    public override async Task<SubmitReply> Submit(IAsyncStreamReader<SubmitRequest> requestStream, ServerCallContext context)
    {
        var cancellationToken = context.CancellationToken;
        if (!await requestStream.MoveNext(cancellationToken) || requestStream.Current.PartCase != SubmitRequest.PartOneofCase.Envelope)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "The first message of a submission must be the envelope."));
        }
        var envelope = requestStream.Current.Envelope;

        var options = delivery.Value;
        await using var body = new MessageSpool(options.SpoolDirectory ?? Path.Combine(Path.GetTempPath(), "relay-spool"), options.MemoryThreshold);
        while (await requestStream.MoveNext(cancellationToken))
        {
            if (requestStream.Current.PartCase != SubmitRequest.PartOneofCase.Chunk)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "Only body chunks may follow the envelope."));
            }
            await body.WriteAsync(requestStream.Current.Chunk.Memory, cancellationToken);
        }

        // The stream ended normally, so the message is complete: only now is anything delivered.
        var reply = await processor.ProcessAsync(envelope, body, cancellationToken);
        return new SubmitReply { Reply = reply, QueueId = envelope.QueueId };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "AUTH failed in session {SessionId} from {ClientAddress}")]
    private static partial void LogAuthFailed(ILogger logger, string? sessionId, string? clientAddress);
}
