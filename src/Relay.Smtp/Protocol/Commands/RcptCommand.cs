namespace Relay.Smtp.Protocol;

/// <summary>RCPT TO (RFC 5321 §4.1.1.3), with DSN's NOTIFY and ORCPT (RFC 3461) accepted and ignored.</summary>
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
        foreach (var (name, value) in path.Parameters)
        {
            // DSN (RFC 3461 §4.1, §4.2) is not offered; NOTIFY and ORCPT are accepted when well formed and ignored.
            var accepted = name.ToUpperInvariant() switch
            {
                "NOTIFY" => value is not null && DsnParameters.IsNotify(value),
                "ORCPT" => value is not null && DsnParameters.IsOriginalRecipient(value),
                _ => (bool?)null,
            };
            if (accepted is null)
            {
                session.Error(SmtpReplies.UnsupportedParameter(name));
                return ValueTask.FromResult(false);
            }
            if (accepted is false)
            {
                session.Error(SmtpReplies.SyntaxError($"RCPT TO:<address> {name.ToUpperInvariant()}=value"));
                return ValueTask.FromResult(false);
            }
        }

        var transaction = session.Transaction!;
        if (!path.IsAscii && !transaction.SmtpUtf8)
        {
            session.Error(SmtpReplies.NonAsciiAddress);
            return ValueTask.FromResult(false);
        }
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
