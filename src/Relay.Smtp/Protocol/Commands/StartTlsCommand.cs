using System.Security.Authentication;
using Microsoft.Extensions.Logging;

namespace Relay.Smtp.Protocol;

/// <summary>
/// STARTTLS (RFC 3207). After 220 the handshake runs on the same connection; whatever the client sent after the
/// command in clear text is thrown away, and the session starts over as if newly connected.
/// </summary>
public sealed class StartTlsCommand : ISmtpCommand
{
    public const string Command = "STARTTLS";

    public string Verb => Command;

    public async ValueTask<bool> ExecuteAsync(SmtpSession session, string argument, CancellationToken cancellationToken)
    {
        if (argument.Length > 0)
        {
            session.Error(SmtpReplies.SyntaxError("STARTTLS"));
            return false;
        }
        if (session.IsSecure)
        {
            session.Error(SmtpReplies.AlreadySecure);
            return false;
        }
        if (!session.TlsAvailable)
        {
            session.Reply(SmtpReplies.TlsNotAvailable);
            return false;
        }

        session.Reply(SmtpReplies.ReadyToStartTls);
        try
        {
            var discarded = await session.Transport.StartTlsAsync(
                session.Server.Certificate!.AuthenticationOptions(), session.Options.Tls.HandshakeTimeout, afterCommand: true, cancellationToken);
            if (discarded > 0)
            {
                session.Logger.LogWarning(
                    "Session {SessionId} from {ClientAddress} sent {Count} bytes after STARTTLS before the handshake; discarded (command injection attempt or broken client)",
                    session.Id, session.RemoteAddress, discarded);
            }
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException)
        {
            // The connection is in an unknown state: neither clear text nor TLS can carry a reply.
            session.Logger.LogInformation("Session {SessionId} from {ClientAddress}: TLS handshake failed: {Reason}",
                session.Id, session.RemoteAddress, ex is OperationCanceledException ? "timed out" : ex.Message);
            session.Abandon();
            return false;
        }
        session.Secured();
        return true;
    }
}
