using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Relay.Contracts;
using Relay.Smtp.Hosting;

namespace Relay.Smtp.Protocol;

/// <summary>
/// AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN, each with or without an initial response. LOGIN prompts are the
/// literal <c>Username:</c> / <c>Password:</c> that some printers insist on. The credentials are checked by
/// Relay.Sender every time; they are never logged.
/// </summary>
public sealed class AuthCommand : ISmtpCommand
{
    public const string Command = "AUTH";
    private const string Plain = "PLAIN";
    private const string Login = "LOGIN";
    private const string UsernamePrompt = "VXNlcm5hbWU6"; // "Username:"
    private const string PasswordPrompt = "UGFzc3dvcmQ6"; // "Password:"

    public string Verb => Command;

    public async ValueTask<bool> ExecuteAsync(SmtpSession session, string argument, CancellationToken cancellationToken)
    {
        if (session.IsAuthenticated)
        {
            session.Error(SmtpReplies.AlreadyAuthenticated);
            return false;
        }
        if (!session.AuthAllowed)
        {
            session.Error(SmtpReplies.EncryptionRequired);
            return false;
        }
        if (session.Server.AuthFailures.IsLockedOut(session.RemoteAddress))
        {
            session.Close(SmtpReplies.AuthLockedOut);
            return false;
        }
        var parts = argument.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            session.Error(SmtpReplies.SyntaxError("AUTH mechanism [initial-response]"));
            return false;
        }
        var mechanism = parts[0].ToUpperInvariant();
        var initialResponse = parts.Length > 1 ? parts[1] : null;

        var credentials = mechanism switch
        {
            Plain => await ReadPlainAsync(session, initialResponse, cancellationToken),
            Login => await ReadLoginAsync(session, initialResponse, cancellationToken),
            _ => Exchange.Fail(SmtpReplies.UnknownAuthMechanism),
        };
        if (credentials.Failure is { } failure)
        {
            session.Error(failure);
            return false;
        }

        var result = await session.Sender.AuthenticateAsync(new AuthenticateRequest
        {
            Mechanism = mechanism,
            Username = credentials.Username,
            Password = credentials.Password,
            Client = session.ClientInfo,
        }, cancellationToken);

        var reply = new SmtpReply(result.Reply.Code, result.Reply.EnhancedCode, result.Reply.Text);
        if (!result.Succeeded)
        {
            // Relay.Sender counts failures by reason (relay.sender.auth.failures); here what the client was told.
            SmtpTelemetry.AuthFailures.Add(1, new KeyValuePair<string, object?>("mechanism", mechanism),
                new KeyValuePair<string, object?>("reply_class", SmtpTelemetry.ReplyClass(reply.Code)));
            Activity.Current?.AddEvent(new ActivityEvent("smtp.auth.failed", tags: new() { ["smtp.reply.code"] = reply.Code }));
            session.Logger.LogInformation("AUTH {Mechanism} failed in session {SessionId} from {ClientAddress}: {Code}",
                mechanism, session.Id, session.RemoteAddress, reply.Code);
            await RefuseLoginAsync(session, reply);
            return false;
        }
        session.Authenticated(result.Identity, result.LoginNeededForDelivery
            ? new Login { Username = credentials.Username, Password = credentials.Password }
            : null);
        Activity.Current?.SetTag("relay.auth.kind", session.AuthKind);
        session.Reply(reply);
        return true;
    }

    /// <summary>
    /// Answers a rejected login after <c>Smtp:AuthFailureDelay</c>. Only a 5xx verdict on the credentials counts
    /// towards the lockout and <c>Smtp:MaxBadCommands</c>; a temporary failure (Relay.Sender or Entra unreachable) is
    /// not the client's doing.
    /// </summary>
    private static async ValueTask RefuseLoginAsync(SmtpSession session, SmtpReply reply)
    {
        if (reply.Code < 500)
        {
            session.Reply(reply);
            return;
        }
        var lockedOut = session.Server.AuthFailures.RecordFailure(session.RemoteAddress);
        if (session.Options.AuthFailureDelay > TimeSpan.Zero)
        {
            await Task.Delay(session.Options.AuthFailureDelay, session.Server.Time);
        }
        // Counted as a protocol error too (as Postfix does), so one connection cannot guess without end even with the
        // lockout off: each guess costs Relay.Sender a full password hash.
        session.Error(reply);
        if (lockedOut)
        {
            session.Logger.LogWarning("Client {ClientAddress} locked out for {Duration} after {Count} failed logins",
                session.RemoteAddress, session.Options.AuthLockoutDuration, session.Options.AuthFailureLimit);
            session.Close(SmtpReplies.AuthLockedOut);
        }
    }

    private static async ValueTask<Exchange> ReadPlainAsync(SmtpSession session, string? initialResponse, CancellationToken cancellationToken)
    {
        var response = initialResponse is null
            ? await PromptAsync(session, string.Empty, cancellationToken)
            : Decode(initialResponse);
        if (response.Failure is not null)
        {
            return response;
        }
        // authzid NUL authcid NUL passwd (RFC 4616 §2). An authorization identity other than the login is refused.
        var fields = response.Username.Split('\0');
        if (fields.Length != 3)
        {
            return Exchange.Fail(SmtpReplies.InvalidBase64);
        }
        if (fields[0].Length > 0 && fields[0] != fields[1])
        {
            return Exchange.Fail(SmtpReplies.AuthorizationIdentityMismatch);
        }
        return new Exchange(fields[1], fields[2], null);
    }

    private static async ValueTask<Exchange> ReadLoginAsync(SmtpSession session, string? initialResponse, CancellationToken cancellationToken)
    {
        var username = initialResponse is null
            ? await PromptAsync(session, UsernamePrompt, cancellationToken)
            : Decode(initialResponse);
        if (username.Failure is not null)
        {
            return username;
        }
        var password = await PromptAsync(session, PasswordPrompt, cancellationToken);
        return password.Failure is not null ? password : new Exchange(username.Username, password.Username, null);
    }

    /// <summary>Sends a 334 challenge and decodes the client's answer into <see cref="Exchange.Username"/>.</summary>
    private static async ValueTask<Exchange> PromptAsync(SmtpSession session, string challenge, CancellationToken cancellationToken)
    {
        session.Reply(SmtpReplies.AuthChallenge(challenge));
        var line = await session.Transport.ReadLineAsync(session.Options.MaxAuthLineLength, session.Options.CommandTimeout, cancellationToken);
        return line.Status switch
        {
            LineReadStatus.EndOfStream => Exchange.Fail(SmtpReplies.AuthCancelled),
            LineReadStatus.TooLong => Exchange.Fail(SmtpReplies.AuthLineTooLong),
            _ when line.Text == "*" => Exchange.Fail(SmtpReplies.AuthCancelled),
            _ => Decode(line.Text),
        };
    }

    /// <summary>Standard base64, padding optional; "=" is the empty response (RFC 4954 §4).</summary>
    private static Exchange Decode(string text)
    {
        if (text == "=")
        {
            return new Exchange(string.Empty, string.Empty, null);
        }
        var padded = text.Length % 4 == 0 ? text : text + new string('=', 4 - text.Length % 4);
        var bytes = new byte[padded.Length];
        return Convert.TryFromBase64String(padded, bytes, out var written)
            ? new Exchange(Encoding.UTF8.GetString(bytes, 0, written), string.Empty, null)
            : Exchange.Fail(SmtpReplies.InvalidBase64);
    }

    private readonly record struct Exchange(string Username, string Password, SmtpReply? Failure)
    {
        public static Exchange Fail(SmtpReply reply) => new(string.Empty, string.Empty, reply);
    }
}
