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

/// <summary>What a delivery attempt came to: the SMTP reply and, for Graph, the request-id Microsoft support asks for.</summary>
public sealed record DeliveryResult(SmtpReply Reply, string? GraphRequestId = null);

/// <summary>Where mail goes: Graph in production, a pickup folder to try Relay out.</summary>
public interface IMessageDelivery
{
    /// <summary>A short name for logs: "graph" or "pickup".</summary>
    string Name { get; }

    Task<DeliveryResult> DeliverAsync(OutboundMessage message, CancellationToken cancellationToken);
}
