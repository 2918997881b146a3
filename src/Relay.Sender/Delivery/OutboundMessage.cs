using Relay.Contracts;
using Relay.Sender.Identity;

namespace Relay.Sender.Delivery;

/// <summary>
/// A message accepted for delivery: envelope, parsed headers, body, the mailbox it goes out through and the sender it
/// was verified as (whose credential, if it has one, is the one Graph is called with).
/// </summary>
public sealed record OutboundMessage(Envelope Envelope, MessageHeaders Headers, MessageSpool Body, string Mailbox, RelayPrincipal Principal)
{
    public string QueueId => Envelope.QueueId;
}

/// <summary>What a delivery came to.</summary>
/// <param name="Reply">The SMTP reply.</param>
/// <param name="GraphRequestId">For Graph, the request-id of the last answer: what Microsoft support asks for.</param>
/// <param name="Attempts">Requests made (for Graph, retries included); 0 when the message was refused before any.</param>
/// <param name="Path">How it went: <c>mime</c> (one Graph sendMail), <c>upload</c> (a Graph draft, attachments and send), <c>pickup</c>.</param>
public sealed record DeliveryResult(SmtpReply Reply, string? GraphRequestId = null, int Attempts = 0, string? Path = null);

/// <summary>Where mail goes: Graph in production, a pickup folder to try Relay out.</summary>
public interface IMessageDelivery
{
    /// <summary>A short name for logs: "graph" or "pickup".</summary>
    string Name { get; }

    Task<DeliveryResult> DeliverAsync(OutboundMessage message, CancellationToken cancellationToken);
}
