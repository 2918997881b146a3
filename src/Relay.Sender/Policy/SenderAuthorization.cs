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
/// <remarks>
/// The mailbox is the login's fixed <c>Mailbox</c> if it has one, else by <c>Graph:SenderSource</c>: the first From:
/// address (falling back to MAIL FROM), MAIL FROM (falling back to From: for the null sender), or nothing (Account).
/// So a bounce (<c>MAIL FROM:&lt;&gt;</c>) goes out through its From: mailbox; the null sender itself never names a
/// mailbox. Neither From: nor an envelope sender is <c>553 5.1.7</c>, and so is a chosen address that cannot name a
/// Microsoft 365 mailbox (<see cref="GraphMailbox"/>): the URL never carries <c>&lt;&gt;</c>, an empty segment or a
/// non-address.
/// </remarks>
public sealed class SenderAuthorization(IOptions<GraphOptions> graph)
{
    public SenderDecision Decide(RelayPrincipal principal, Envelope envelope, MessageHeaders headers)
    {
        var from = headers.From.FirstOrDefault();
        var envelopeSender = envelope.MailFrom.Length > 0 ? envelope.MailFrom : null;
        var (mailbox, what) = principal.Mailbox is { } fixedMailbox
            ? (fixedMailbox, $"the fixed mailbox of login '{principal.Name}'")
            : graph.Value.SenderSource switch
            {
                SenderSource.Envelope when envelopeSender is not null => (envelopeSender, "the envelope sender"),
                SenderSource.Envelope => (from, "the From: address"),
                SenderSource.Account => (null, null),
                _ when from is not null => (from, "the From: address"),
                _ => (envelopeSender, "the envelope sender"),
            };
        if (mailbox is null)
        {
            return new SenderDecision(null, graph.Value.SenderSource == SenderSource.Account
                ? Replies.NoFixedMailbox(principal.Name)
                : Replies.NoSendingMailbox);
        }
        if (!GraphMailbox.IsValid(mailbox))
        {
            return new SenderDecision(null, Replies.NotAMailbox(what!, mailbox));
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
