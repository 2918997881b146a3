using System.Collections.Frozen;

namespace Relay.Smtp.Protocol;

/// <summary>One SMTP verb. Returns true when it succeeded, so that the state table's transition applies.</summary>
public interface ISmtpCommand
{
    string Verb { get; }

    ValueTask<bool> ExecuteAsync(SmtpSession session, string argument, CancellationToken cancellationToken);

    /// <summary>
    /// Answers the command when it is out of sequence. A command followed by data of its own (BDAT) reads and
    /// discards that data first, so that it is never taken for commands.
    /// </summary>
    ValueTask RefuseAsync(SmtpSession session, string argument, SmtpReply reply)
    {
        session.Error(reply);
        return ValueTask.CompletedTask;
    }
}

/// <summary>The verbs this server knows, by name.</summary>
public sealed class SmtpCommandSet(IEnumerable<ISmtpCommand> commands)
{
    private readonly FrozenDictionary<string, ISmtpCommand> _byVerb =
        commands.ToFrozenDictionary(c => c.Verb, StringComparer.Ordinal);

    public bool TryGet(string verb, out ISmtpCommand command) => _byVerb.TryGetValue(verb, out command!);

    public static SmtpCommandSet Default { get; } = new(
    [
        new EhloCommand(), new HeloCommand(), new StartTlsCommand(), new AuthCommand(), new MailCommand(),
        new RcptCommand(), new DataCommand(), new BdatCommand(), new RsetCommand(), new NoopCommand(),
        new QuitCommand(), new HelpCommand(), new VrfyCommand(),
    ]);
}
