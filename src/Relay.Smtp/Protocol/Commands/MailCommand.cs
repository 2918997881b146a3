using System.Globalization;

namespace Relay.Smtp.Protocol;

/// <summary>
/// MAIL FROM (RFC 5321 §4.1.1.2) with SIZE (RFC 1870), BODY (RFC 6152), AUTH (RFC 4954 §5) and SMTPUTF8 (RFC 6531)
/// parameters; DSN's RET and ENVID (RFC 3461) are accepted and ignored.
/// </summary>
public sealed class MailCommand : ISmtpCommand
{
    public const string Command = "MAIL";
    public string Verb => Command;

    public ValueTask<bool> ExecuteAsync(SmtpSession session, string argument, CancellationToken cancellationToken)
    {
        if (!session.MailAllowed)
        {
            session.Reply(SmtpReplies.TlsRequired);
            return ValueTask.FromResult(false);
        }
        if (!session.IsAuthenticated && !session.MaySendAnonymously)
        {
            session.Reply(SmtpReplies.AuthenticationRequired);
            return ValueTask.FromResult(false);
        }

        switch (MailboxPath.TryParse(argument, "FROM", allowNull: true, out var path))
        {
            case MailboxPathStatus.Syntax:
                session.Error(SmtpReplies.SyntaxError("MAIL FROM:<address> [SIZE=n] [BODY=7BIT|8BITMIME] [SMTPUTF8]"));
                return ValueTask.FromResult(false);
            case MailboxPathStatus.BadAddress:
                session.Error(SmtpReplies.BadSenderSyntax);
                return ValueTask.FromResult(false);
        }

        long declaredSize = 0;
        var smtpUtf8 = false;
        foreach (var (name, value) in path.Parameters)
        {
            switch (name.ToUpperInvariant())
            {
                case "SIZE" when long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out declaredSize):
                    if (declaredSize > session.Options.MaxMessageSize)
                    {
                        session.Reply(SmtpReplies.MessageTooBig);
                        return ValueTask.FromResult(false);
                    }
                    break;
                case "BODY" when value is not null
                                 && (value.Equals("7BIT", StringComparison.OrdinalIgnoreCase)
                                     || value.Equals("8BITMIME", StringComparison.OrdinalIgnoreCase)):
                    break;
                case "AUTH" when value is not null:
                    // RFC 4954 §5: the client's claim about the original submitter; Relay trusts only its own AUTH.
                    break;
                case "SMTPUTF8" when value is null:
                    smtpUtf8 = true;
                    break;
                case "RET" when value is not null && (value.Equals("FULL", StringComparison.OrdinalIgnoreCase)
                                                     || value.Equals("HDRS", StringComparison.OrdinalIgnoreCase)):
                case "ENVID" when value is not null && DsnParameters.IsXtext(value, DsnParameters.MaxEnvelopeIdLength):
                    // DSN (RFC 3461) is not offered; a client that asks anyway is accepted and the request ignored,
                    // since Graph decides about notifications.
                    break;
                case "SIZE" or "BODY" or "AUTH" or "SMTPUTF8" or "RET" or "ENVID":
                    session.Error(SmtpReplies.SyntaxError($"MAIL FROM:<address> {name.ToUpperInvariant()}=value"));
                    return ValueTask.FromResult(false);
                default:
                    session.Error(SmtpReplies.UnsupportedParameter(name));
                    return ValueTask.FromResult(false);
            }
        }

        if (!path.IsAscii && !smtpUtf8)
        {
            session.Error(SmtpReplies.NonAsciiAddress);
            return ValueTask.FromResult(false);
        }

        session.BeginTransaction(new MailTransaction(path.Address, declaredSize, smtpUtf8));
        session.Reply(SmtpReplies.SenderOk);
        return ValueTask.FromResult(true);
    }
}
