namespace Relay.Sender.Delivery.Graph;

/// <summary>
/// What Relay does with a message whose To: or Cc: names an address the client did not give in <c>RCPT TO</c>
/// (<c>Graph:HeaderOnlyRecipients</c>). MIME sendMail has no envelope: Microsoft 365 delivers to every address in To:,
/// Cc: and Bcc:, so such an address receives the message although the client never asked for it.
/// </summary>
public enum HeaderOnlyRecipientHandling
{
    /// <summary>Send it; Microsoft 365 delivers to the header-only addresses too (Graph's own behaviour).</summary>
    Deliver,
    /// <summary>Refuse the message with <c>550 5.7.1</c>, naming the first header-only address.</summary>
    Reject,
}
