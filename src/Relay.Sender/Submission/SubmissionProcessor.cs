using System.Diagnostics;
using Relay.Contracts;
using Relay.Sender.Delivery;
using Relay.Sender.Identity;
using Relay.Sender.Policy;

namespace Relay.Sender.Submission;

/// <summary>
/// What happens to a fully received message: who sent it, may they, through which mailbox, then delivery — and one
/// audit line whatever the outcome. Never the body, never a credential.
/// </summary>
public sealed partial class SubmissionProcessor(
    RelayAccounts accounts,
    SenderAuthorization authorization,
    IMessageDelivery delivery,
    ILogger<SubmissionProcessor> logger)
{
    public async Task<SmtpReply> ProcessAsync(Envelope envelope, MessageSpool body, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var activity = SenderTelemetry.Source.StartActivity("relay.deliver");
        activity?.SetTag("relay.queue_id", envelope.QueueId);
        activity?.SetTag("relay.recipients", envelope.Recipients.Count);

        var headers = MessageHeaders.Read(body.Rewind());
        var (reply, mailbox, requestId) = await DecideAndDeliverAsync(envelope, headers, body, cancellationToken);

        var outcome = reply.Code switch { < 400 => "delivered", < 500 => "deferred", _ => "rejected" };
        activity?.SetTag("relay.outcome", outcome);
        activity?.SetTag("smtp.reply.code", reply.Code);
        SenderTelemetry.Messages.Add(1, new KeyValuePair<string, object?>("outcome", outcome),
            new KeyValuePair<string, object?>("delivery", delivery.Name));
        SenderTelemetry.MessageSize.Record(body.Length);
        LogAudit(logger, envelope.QueueId, outcome, headers?.MessageId, mailbox, envelope.Recipients.Count, body.Length,
            reply.Code, reply.EnhancedCode, delivery.Name, requestId, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return reply;
    }

    private async Task<(SmtpReply Reply, string? Mailbox, string? RequestId)> DecideAndDeliverAsync(
        Envelope envelope, MessageHeaders? headers, MessageSpool body, CancellationToken cancellationToken)
    {
        var principal = accounts.Resolve(envelope.Identity);
        if (principal is null)
        {
            return (Replies.AuthenticationRequired, null, null);
        }
        if (headers is null)
        {
            return (Replies.InvalidMessage, null, null);
        }
        var decision = authorization.Decide(principal, envelope, headers);
        if (decision.Refusal is { } refusal)
        {
            return (refusal, decision.Mailbox, null);
        }
        var result = await delivery.DeliverAsync(new OutboundMessage(envelope, headers, body, decision.Mailbox!), cancellationToken);
        return (result.Reply, decision.Mailbox, result.GraphRequestId);
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Message {QueueId} {Outcome}: Message-ID {MessageId}, mailbox {Mailbox}, {RecipientCount} recipients, {Size} bytes, reply {ReplyCode} {EnhancedCode}, via {Delivery}, Graph request-id {GraphRequestId}, {DurationMs} ms")]
    private static partial void LogAudit(ILogger logger, string queueId, string outcome, string? messageId, string? mailbox,
        int recipientCount, long size, int replyCode, string enhancedCode, string delivery, string? graphRequestId, long durationMs);
}
