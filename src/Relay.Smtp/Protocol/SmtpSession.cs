using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Relay.Contracts;
using Relay.Smtp.Delivery;
using Relay.Smtp.Policy;

namespace Relay.Smtp.Protocol;

/// <summary>
/// One SMTP conversation: reads commands, checks them against <see cref="SmtpStateTable"/>, runs them and
/// keeps what they leave behind (greeting, TLS, login, transaction).
/// </summary>
public sealed class SmtpSession(string id, IPAddress remoteAddress, SmtpTransport transport, SmtpServerContext server)
{
    private readonly long _started = server.Time.GetTimestamp();
    private int _badCommands;

    public string Id { get; } = id;
    public IPAddress RemoteAddress { get; } = remoteAddress;
    public SmtpTransport Transport { get; } = transport;
    public SmtpServerContext Server { get; } = server;
    public SmtpOptions Options => Server.Options;
    public ISenderClient Sender => Server.Sender;
    public ILogger Logger => Server.Logger;

    public SmtpState State { get; private set; } = SmtpState.Connected;
    public string? HeloName { get; private set; }
    public bool IsExtended { get; private set; }

    /// <summary>The identity Relay.Sender returned for a successful AUTH; null until then.</summary>
    public string? Identity { get; private set; }

    /// <summary>The AUTH credentials, kept only when Relay.Sender needs them with every message; never logged.</summary>
    public Login? Login { get; private set; }
    public MailTransaction? Transaction { get; private set; }
    public bool CloseRequested { get; private set; }

    public bool IsAuthenticated => Identity is not null;

    /// <summary>For traces: <c>none</c>, <c>account</c> (a Relay account) or <c>login</c> (a Microsoft login passed on with each message).</summary>
    public string AuthKind => Identity is null ? "none" : Login is null ? "account" : "login";
    public bool IsSecure => Transport.Tls is not null;
    public bool IsLoopback => NetworkPolicy.IsLoopback(RemoteAddress);
    public bool MaySendAnonymously => Server.NetworkPolicy.AllowsAnonymous(RemoteAddress);

    /// <summary>STARTTLS is offered: a certificate is configured and the session is not encrypted yet.</summary>
    public bool TlsAvailable => Server.Certificate is not null && !IsSecure;

    /// <summary>AUTH is offered and accepted: over TLS, from loopback, or anywhere when <c>Smtp:Tls:RequireForAuth</c> is off.</summary>
    public bool AuthAllowed => IsSecure || IsLoopback || !Options.Tls.RequireForAuth;

    /// <summary>MAIL is accepted: over TLS, from loopback, or anywhere unless <c>Smtp:Tls:RequireForMail</c> is on.</summary>
    public bool MailAllowed => IsSecure || IsLoopback || !Options.Tls.RequireForMail;

    public ClientInfo ClientInfo => new() { SessionId = Id, Address = RemoteAddress.ToString(), Helo = HeloName ?? string.Empty };

    public async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            await ConverseAsync(stopping);
        }
        finally
        {
            EndTransaction();
        }
    }

    private async Task ConverseAsync(CancellationToken stopping)
    {
        Reply(SmtpReplies.Greeting(Options.ServerName));
        while (!CloseRequested)
        {
            if (stopping.IsCancellationRequested)
            {
                Reply(SmtpReplies.ShuttingDown);
                break;
            }
            var remaining = Options.MaxSessionDuration - Server.Time.GetElapsedTime(_started);
            if (remaining <= TimeSpan.Zero)
            {
                Logger.LogInformation("Session {SessionId} reached Smtp:MaxSessionDuration", Id);
                Reply(SmtpReplies.SessionExpired);
                break;
            }

            LineReadResult line;
            try
            {
                var timeout = remaining < Options.CommandTimeout ? remaining : Options.CommandTimeout;
                line = await Transport.ReadLineAsync(Options.MaxCommandLineLength, timeout, stopping);
            }
            catch (ClientTimeoutException ex)
            {
                Logger.LogInformation("Session {SessionId} timed out waiting for a command", Id);
                Reply(Server.Time.GetElapsedTime(_started) >= Options.MaxSessionDuration ? SmtpReplies.SessionExpired : ex.Reply);
                break;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                Reply(SmtpReplies.ShuttingDown);
                break;
            }

            if (line.Status == LineReadStatus.EndOfStream)
            {
                return;
            }
            await DispatchAsync(line, stopping);
            if (_badCommands >= Options.MaxBadCommands)
            {
                Logger.LogInformation("Session {SessionId} closed after {Count} protocol errors", Id, _badCommands);
                Reply(SmtpReplies.TooManyErrors);
                break;
            }
        }
        await Transport.FlushAsync(CancellationToken.None);
    }

    public void Reply(SmtpReply reply) => Transport.Write(reply);

    /// <summary>Replies with a protocol error, which counts towards <see cref="SmtpOptions.MaxBadCommands"/>.</summary>
    public void Error(SmtpReply reply)
    {
        _badCommands++;
        Reply(reply);
    }

    public void Close(SmtpReply reply)
    {
        Reply(reply);
        CloseRequested = true;
    }

    /// <summary>Ends the session without a reply: the client is gone.</summary>
    public void Abandon() => CloseRequested = true;

    public void Greet(string heloName, bool extended)
    {
        HeloName = heloName;
        IsExtended = extended;
        EndTransaction();
    }

    /// <summary>After a STARTTLS handshake the session starts over (RFC 3207 §4.2): nothing said in clear text counts.</summary>
    public void Secured()
    {
        HeloName = null;
        IsExtended = false;
        Identity = null;
        Login = null;
        EndTransaction();
        State = SmtpState.Connected;
    }

    public void Authenticated(string identity, Login? login)
    {
        Identity = identity;
        Login = login;
    }

    public void BeginTransaction(MailTransaction transaction) => Transaction = transaction;

    /// <summary>Ends the transaction; content still on its way to Relay.Sender is abandoned.</summary>
    public void EndTransaction()
    {
        Transaction?.Dispose();
        Transaction = null;
    }

    /// <summary>How message content must keep coming: <c>Smtp:DataTimeout</c> per block and <c>Smtp:MinDataRate</c> overall.</summary>
    public DataPace DataPace => new(Options.DataTimeout, Options.MinDataRate, Options.MinDataRateGracePeriod);

    /// <summary>
    /// Relay's trace field (RFC 5321 §4.4) with the protocol name of RFC 3848 (ESMTP, ESMTPS, ESMTPA, ESMTPSA; UTF8SMTP…
    /// for an SMTPUTF8 transaction, RFC 6531 §3.7.3), the TLS session and the login, the last two in Postfix's words so
    /// that tools reading Postfix headers read these too.
    /// </summary>
    public string BuildReceivedHeader(MailTransaction transaction)
    {
        var tls = Transport.Tls;
        var protocol = new StringBuilder(!IsExtended ? "SMTP" : transaction.SmtpUtf8 ? "UTF8SMTP" : "ESMTP");
        if (tls is not null && IsExtended)
        {
            protocol.Append('S');
        }
        if (IsAuthenticated && IsExtended)
        {
            protocol.Append('A');
        }
        var header = new StringBuilder($"Received: from {HeloName} ([{RemoteAddress}])");
        if (tls is not null)
        {
            header.Append(CultureInfo.InvariantCulture, $"\r\n\t(using {tls.Protocol} with cipher {tls.CipherSuite})");
        }
        if (IsAuthenticated)
        {
            header.Append(CultureInfo.InvariantCulture, $"\r\n\t(Authenticated sender: {Identity})");
        }
        header.Append(CultureInfo.InvariantCulture, $"\r\n\tby {Options.ServerName} (Relay) with {protocol} id {transaction.QueueId}");
        if (transaction.Recipients.Count == 1)
        {
            header.Append(CultureInfo.InvariantCulture, $"\r\n\tfor <{transaction.Recipients[0]}>");
        }
        var date = Server.Time.GetUtcNow().ToString("ddd, dd MMM yyyy HH:mm:ss +0000", CultureInfo.InvariantCulture);
        header.Append(CultureInfo.InvariantCulture, $";\r\n\t{date}\r\n");
        return header.ToString();
    }

    private async Task DispatchAsync(LineReadResult line, CancellationToken stopping)
    {
        if (line.Status == LineReadStatus.TooLong)
        {
            Error(SmtpReplies.LineTooLong);
            return;
        }
        if (line.Text.Contains('\0'))
        {
            Error(SmtpReplies.NulInCommand);
            return;
        }
        if (!SmtpCommandLine.TryParse(line.Text, out var commandLine)
            || !Server.Commands.TryGet(commandLine.Verb, out var command))
        {
            Error(SmtpReplies.CommandUnrecognized);
            return;
        }
        // Refusing can read from the client too (an out-of-sequence BDAT is read to its end), so it is inside the try.
        try
        {
            if (!SmtpStateTable.TryGetTransition(State, commandLine.Verb, out var next))
            {
                await command.RefuseAsync(this, commandLine.Argument, SmtpReplies.BadSequence(SmtpStateTable.For(State).ExpectedText));
                return;
            }

            Activity.Current?.AddEvent(new ActivityEvent("smtp.command", tags: new() { ["smtp.command"] = commandLine.Verb }));
            if (await command.ExecuteAsync(this, commandLine.Argument, stopping))
            {
                // A command that ended the transaction (BDAT LAST, a failed chunk) leaves no transaction state behind.
                State = next > SmtpState.Greeted && Transaction is null ? SmtpState.Greeted : next;
            }
            else if (State > SmtpState.Greeted && Transaction is null)
            {
                State = SmtpState.Greeted;
            }
        }
        catch (ClientTimeoutException ex)
        {
            Logger.LogInformation("Session {SessionId} timed out during {Verb}: {Reason}", Id, commandLine.Verb, ex.Reply.Text);
            Close(ex.Reply);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The host is stopping while a command waits for the client (an AUTH prompt): as between commands.
            Close(SmtpReplies.ShuttingDown);
        }
    }
}
