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
    SmtpLogins logins,
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
        var (reply, mailbox, result) = await DecideAndDeliverAsync(envelope, headers, body, cancellationToken);

        var outcome = reply.Code switch { < 400 => "delivered", < 500 => "deferred", _ => "rejected" };
        activity?.SetTag("relay.outcome", outcome);
        activity?.SetTag("smtp.reply.code", reply.Code);
        SenderTelemetry.Messages.Add(1, new KeyValuePair<string, object?>("outcome", outcome),
            new KeyValuePair<string, object?>("reply_class", $"{reply.Code / 100}xx"),
            new KeyValuePair<string, object?>("delivery", delivery.Name));
        SenderTelemetry.MessageSize.Record(body.Length);
        LogAudit(logger, envelope.QueueId, outcome, headers?.MessageId, mailbox, envelope.Recipients.Count, body.Length,
            reply.Code, reply.EnhancedCode, delivery.Name, result?.Path ?? "-", result?.Attempts ?? 0, result?.GraphRequestId,
            (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return reply;
    }

    /// <returns>The reply, the mailbox decided on (if any), and what delivery came to (null when it was not tried).</returns>
    private async Task<(SmtpReply Reply, string? Mailbox, DeliveryResult? Result)> DecideAndDeliverAsync(
        Envelope envelope, MessageHeaders? headers, MessageSpool body, CancellationToken cancellationToken)
    {
        var (principal, refusal) = await ResolvePrincipalAsync(envelope, cancellationToken);
        if (principal is null)
        {
            return (refusal!, null, null);
        }
        if (headers is null)
        {
            return (Replies.InvalidMessage, null, null);
        }
        var decision = authorization.Decide(principal, envelope, headers);
        if (decision.Refusal is { } denied)
        {
            return (denied, decision.Mailbox, null);
        }
        var result = await delivery.DeliverAsync(new OutboundMessage(envelope, headers, body, decision.Mailbox!, principal), cancellationToken);
        return (result.Reply, decision.Mailbox, result);
    }

    /// <summary>
    /// Who sent the message. A login that signs in with its own credentials arrives with them (Envelope.login) and is
    /// verified again — a cached token makes that free — because any replica may take the message and the credential
    /// may have been revoked since AUTH. A Relay account arrives as its verified name; no login at all is the anonymous
    /// account, if there is one.
    /// </summary>
    private async Task<(RelayPrincipal? Principal, SmtpReply? Refusal)> ResolvePrincipalAsync(Envelope envelope, CancellationToken cancellationToken)
    {
        if (envelope.Login is not { } login)
        {
            return accounts.Resolve(envelope.Identity) is { } principal ? (principal, null) : (null, Replies.AuthenticationRequired);
        }
        var result = await logins.VerifyAsync(login.Username, login.Password, cancellationToken);
        if (result.Principal is { } verified)
        {
            return (verified, null);
        }
        // The end of DATA is no place for 535 or 454 (replies to AUTH): the same verdict as a message reply.
        var failure = result.Failure!;
        return (null, failure.IsTransient
            ? Replies.Create(451, "4.7.0", failure.Reply.Text)
            : Replies.Create(554, "5.7.8", failure.Reply.Text));
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Message {QueueId} {Outcome}: Message-ID {MessageId}, mailbox {Mailbox}, {RecipientCount} recipients, {Size} bytes, reply {ReplyCode} {EnhancedCode}, via {Delivery} path {Path}, {Attempts} attempts, Graph request-id {GraphRequestId}, {DurationMs} ms")]
    private static partial void LogAudit(ILogger logger, string queueId, string outcome, string? messageId, string? mailbox,
        int recipientCount, long size, int replyCode, string enhancedCode, string delivery, string path, int attempts, string? graphRequestId, long durationMs);
}
