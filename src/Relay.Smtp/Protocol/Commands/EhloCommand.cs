namespace Relay.Smtp.Protocol;

/// <summary>EHLO (RFC 5321 §4.1.1.1): greets, resets any transaction and lists the extensions.</summary>
public sealed class EhloCommand : ISmtpCommand
{
    public const string Command = "EHLO";
    public string Verb => Command;

    public ValueTask<bool> ExecuteAsync(SmtpSession session, string argument, CancellationToken cancellationToken)
    {
        if (!HeloCommand.IsValidName(argument))
        {
            session.Error(SmtpReplies.SyntaxError("EHLO hostname"));
            return ValueTask.FromResult(false);
        }
        session.Greet(argument, extended: true);
        List<string> lines =
        [
            $"{session.Options.ServerName} greets {argument}",
            "PIPELINING",
            $"SIZE {session.Options.MaxMessageSize}",
            "8BITMIME",
            "SMTPUTF8",
            "CHUNKING",
            "ENHANCEDSTATUSCODES",
        ];
        if (session.TlsAvailable)
        {
            lines.Add("STARTTLS");
        }
        if (session.AuthAllowed)
        {
            // Not offered in clear text to remote clients (Smtp:Tls:RequireForAuth), so that no client sends a password there.
            lines.Add("AUTH PLAIN LOGIN");
        }
        lines.Add("HELP");
        session.Reply(SmtpReplies.Hello(string.Join('\n', lines)));
        return ValueTask.FromResult(true);
    }
}

/// <summary>HELO (RFC 5321 §4.1.1.1): the old greeting, without extensions.</summary>
public sealed class HeloCommand : ISmtpCommand
{
    public const string Command = "HELO";
    public string Verb => Command;

    public ValueTask<bool> ExecuteAsync(SmtpSession session, string argument, CancellationToken cancellationToken)
    {
        if (!IsValidName(argument))
        {
            session.Error(SmtpReplies.SyntaxError("HELO hostname"));
            return ValueTask.FromResult(false);
        }
        session.Greet(argument, extended: false);
        session.Reply(SmtpReplies.Hello(session.Options.ServerName));
        return ValueTask.FromResult(true);
    }

    /// <summary>A domain or address literal; printable, no spaces (it ends up in the Received: header).</summary>
    internal static bool IsValidName(string name) =>
        name.Length is > 0 and <= 255 && name.All(c => c > ' ' && c != '\u007f' && !char.IsControl(c));
}
