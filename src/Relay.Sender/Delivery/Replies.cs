using Relay.Contracts;

namespace Relay.Sender.Delivery;

/// <summary>Replies Relay.Sender gives, by name (DESIGN.md's mapping table).</summary>
public static class Replies
{
    public static SmtpReply Create(int code, string enhanced, string text) => new() { Code = code, EnhancedCode = enhanced, Text = text };

    public static SmtpReply Queued(string queueId) => Create(250, "2.0.0", $"Ok: queued as {queueId}");
    public static SmtpReply AuthSucceeded { get; } = Create(235, "2.7.0", "Authentication successful");
    public static SmtpReply AuthFailed { get; } = Create(535, "5.7.8", "Authentication credentials invalid");
    public static SmtpReply AuthenticationRequired { get; } = Create(530, "5.7.0", "Authentication required");
    public static SmtpReply SenderNotAllowed(string account, string address) =>
        Create(550, "5.7.1", $"Login '{account}' may not send as <{address}>");
    public static SmtpReply NoSendingMailbox { get; } =
        Create(553, "5.1.7", "Cannot tell which mailbox to send from: the message has no From: address and the envelope sender is empty (MAIL FROM:<>); add a From: header naming the sending mailbox");
    public static SmtpReply NoFixedMailbox(string account) =>
        Create(553, "5.1.7", $"Cannot tell which mailbox to send from: Graph:SenderSource is Account but login '{account}' has no fixed Mailbox");
    public static SmtpReply NotAMailbox(string what, string address) =>
        Create(553, "5.1.7", $"Cannot send through {what} <{address}>: it is not a mailbox address (local-part@domain.name)");
    public static SmtpReply HeaderOnlyRecipient(string address) =>
        Create(550, "5.7.1", $"<{address}> is in To: or Cc: but the client did not give it in RCPT TO; Microsoft 365 would deliver to it, so Relay refuses the message (Graph:HeaderOnlyRecipients=Reject)");
    public static SmtpReply InvalidMessage { get; } = Create(554, "5.6.0", "Message is not a valid RFC 5322 message");
}
