namespace Relay.Smtp.Protocol;

/// <summary>RCPT TO (RFC 5321 §4.1.1.3).</summary>
public sealed class RcptCommand : ISmtpCommand
{
    public const string Command = "RCPT";
    public string Verb => Command;

    public ValueTask<bool> ExecuteAsync(SmtpSession session, string argument, CancellationToken cancellationToken)
    {
        switch (MailboxPath.TryParse(argument, "TO", allowNull: false, out var path))
        {
            case MailboxPathStatus.Syntax:
                session.Error(SmtpReplies.SyntaxError("RCPT TO:<address>"));
                return ValueTask.FromResult(false);
            case MailboxPathStatus.BadAddress:
                session.Error(SmtpReplies.BadRecipientSyntax);
                return ValueTask.FromResult(false);
        }
        if (path.Parameters.Count > 0)
        {
            session.Error(SmtpReplies.UnsupportedParameter(path.Parameters.Keys.First()));
            return ValueTask.FromResult(false);
        }

        var transaction = session.Transaction!;
        if (transaction.Recipients.Count >= session.Options.MaxRecipients)
        {
            // RFC 5321 §4.5.3.1.10: 452 tells the client to send the rest in another transaction.
            session.Reply(SmtpReplies.TooManyRecipients);
            return ValueTask.FromResult(false);
        }
        transaction.AddRecipient(path.Address);
        session.Reply(SmtpReplies.RecipientOk);
        return ValueTask.FromResult(true);
    }
}
