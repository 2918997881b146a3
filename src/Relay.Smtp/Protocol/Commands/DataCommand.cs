namespace Relay.Smtp.Protocol;

/// <summary>
/// DATA (RFC 5321 §4.1.1.4). The envelope goes to Relay.Sender before 354 is sent, the body is streamed to it as it
/// arrives, and the final reply is Relay.Sender's verdict: 250 only once the message has been handed on.
/// </summary>
public sealed class DataCommand : ISmtpCommand
{
    public const string Command = "DATA";

    public string Verb => Command;

    public async ValueTask<bool> ExecuteAsync(SmtpSession session, string argument, CancellationToken cancellationToken)
    {
        if (argument.Length > 0)
        {
            session.Error(SmtpReplies.SyntaxError("DATA"));
            return false;
        }

        var transaction = session.Transaction!;
        var filter = ContentFilter.ForData(session.Options.BareLineFeed, session.Options.MaxTextLineLength);
        using var upload = await MessageUpload.BeginAsync(session, transaction, filter);
        session.EndTransaction();
        if (upload is null)
        {
            session.Reply(SmtpReplies.ServiceUnavailable);
            return true;
        }
        session.Reply(SmtpReplies.StartMailInput);

        if (await upload.ReadAsync(session) == DataReadStatus.EndOfStream)
        {
            // The client went away mid-message: disposing the upload cancels it, nothing is sent.
            session.Abandon();
            return true;
        }
        session.Reply(await upload.CompleteAsync(session.Options.SubmissionTimeout));
        return true;
    }
}
