namespace Relay.Smtp.Protocol;

/// <summary>RSET (RFC 5321 §4.1.1.5): abandons the transaction; the login stays.</summary>
public sealed class RsetCommand : ISmtpCommand
{
    public const string Command = "RSET";
    public string Verb => Command;

    public ValueTask<bool> ExecuteAsync(SmtpSession session, string argument, CancellationToken cancellationToken)
    {
        session.EndTransaction();
        session.Reply(SmtpReplies.Ok);
        return ValueTask.FromResult(true);
    }
}

/// <summary>NOOP (RFC 5321 §4.1.1.9).</summary>
public sealed class NoopCommand : ISmtpCommand
{
    public const string Command = "NOOP";
    public string Verb => Command;

    public ValueTask<bool> ExecuteAsync(SmtpSession session, string argument, CancellationToken cancellationToken)
    {
        session.Reply(SmtpReplies.Ok);
        return ValueTask.FromResult(true);
    }
}

/// <summary>QUIT (RFC 5321 §4.1.1.10).</summary>
public sealed class QuitCommand : ISmtpCommand
{
    public const string Command = "QUIT";
    public string Verb => Command;

    public ValueTask<bool> ExecuteAsync(SmtpSession session, string argument, CancellationToken cancellationToken)
    {
        session.Close(SmtpReplies.Bye);
        return ValueTask.FromResult(true);
    }
}

/// <summary>HELP (RFC 5321 §4.1.1.8).</summary>
public sealed class HelpCommand : ISmtpCommand
{
    public const string Command = "HELP";
    public string Verb => Command;

    public ValueTask<bool> ExecuteAsync(SmtpSession session, string argument, CancellationToken cancellationToken)
    {
        session.Reply(SmtpReplies.Help);
        return ValueTask.FromResult(true);
    }
}

/// <summary>VRFY (RFC 5321 §3.5.3): a relay cannot verify mailboxes, so 252 as the RFC suggests.</summary>
public sealed class VrfyCommand : ISmtpCommand
{
    public const string Command = "VRFY";
    public string Verb => Command;

    public ValueTask<bool> ExecuteAsync(SmtpSession session, string argument, CancellationToken cancellationToken)
    {
        if (argument.Length == 0)
        {
            session.Error(SmtpReplies.SyntaxError("VRFY address"));
            return ValueTask.FromResult(false);
        }
        session.Reply(SmtpReplies.CannotVerify);
        return ValueTask.FromResult(true);
    }
}
