using Microsoft.Extensions.Options;
using Relay.Contracts;
using Relay.Sender.Delivery;
using Relay.Sender.Delivery.Graph;
using Relay.Sender.Identity;

namespace Relay.Sender.Policy;

/// <summary>The mailbox a message goes out through, or why it may not go out at all.</summary>
public readonly record struct SenderDecision(string? Mailbox, SmtpReply? Refusal);

/// <summary>
/// Picks the mailbox Graph will send from and checks it, the From: address and the envelope sender against the
/// login's <c>AllowedSenders</c> — before Graph is ever called.
/// </summary>
public sealed class SenderAuthorization(IOptions<GraphOptions> graph)
{
    public SenderDecision Decide(RelayPrincipal principal, Envelope envelope, MessageHeaders headers)
    {
        var from = headers.From.FirstOrDefault();
        var envelopeSender = envelope.MailFrom.Length > 0 ? envelope.MailFrom : null;
        var mailbox = principal.Mailbox ?? graph.Value.SenderSource switch
        {
            SenderSource.Envelope => envelopeSender ?? from,
            SenderSource.Account => null,
            _ => from ?? envelopeSender,
        };
        if (mailbox is null)
        {
            return new SenderDecision(null, Replies.NoSendingMailbox);
        }

        if (principal.AllowedSenders is not { } allowed)
        {
            // An app or a user signed in with its own credentials: Microsoft 365 decides what it may send as.
            return new SenderDecision(mailbox, null);
        }

        // Every From: mailbox is checked: recipients see them all (RFC 5322 allows several).
        foreach (var address in headers.From.Prepend(mailbox).Append(envelopeSender))
        {
            if (address is not null && !SenderPattern.Matches(allowed, address))
            {
                return new SenderDecision(null, Replies.SenderNotAllowed(principal.Name, address));
            }
        }
        return new SenderDecision(mailbox, null);
    }
}
