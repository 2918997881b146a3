using Relay.Contracts;

namespace Relay.Sender.Delivery;

/// <summary>A message accepted for delivery: envelope, parsed headers, body and the mailbox it goes out through.</summary>
public sealed record OutboundMessage(Envelope Envelope, MessageHeaders Headers, MessageSpool Body, string Mailbox)
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
