using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Relay.Contracts;
using Relay.Smtp.Delivery;

namespace Relay.Smtp.Protocol;

/// <summary>
/// One SMTP conversation: reads commands, checks them against <see cref="SmtpStateTable"/>, runs them and
/// keeps what they leave behind (greeting, login, transaction).
/// </summary>
public sealed class SmtpSession(
    string id,
    IPAddress remoteAddress,
    SmtpTransport transport,
    SmtpOptions options,
    ISenderClient sender,
    SmtpCommandSet commands,
    NetworkPolicy networkPolicy,
    ILogger logger)
{
    private int _badCommands;

    public string Id { get; } = id;
    public IPAddress RemoteAddress { get; } = remoteAddress;
    public SmtpTransport Transport { get; } = transport;
    public SmtpOptions Options { get; } = options;
    public ISenderClient Sender { get; } = sender;
    public ILogger Logger { get; } = logger;

    public SmtpState State { get; private set; } = SmtpState.Connected;
    public string? HeloName { get; private set; }
    public bool IsExtended { get; private set; }

    /// <summary>The identity Relay.Sender returned for a successful AUTH; null until then.</summary>
    public string? Identity { get; private set; }
    public MailTransaction? Transaction { get; private set; }
    public bool CloseRequested { get; private set; }

    public bool IsAuthenticated => Identity is not null;
    public bool MaySendAnonymously => networkPolicy.AllowsAnonymous(RemoteAddress);

    public ClientInfo ClientInfo => new() { SessionId = Id, Address = RemoteAddress.ToString(), Helo = HeloName ?? string.Empty };

    public async Task RunAsync(CancellationToken stopping)
    {
        Reply(new SmtpReply(220, null, $"{Options.ServerName} ESMTP Relay ready"));
        while (!CloseRequested)
        {
            LineReadResult line;
            Transport.ReadTimeout = Options.CommandTimeout;
            try
            {
                line = await Transport.ReadLineAsync(Options.MaxCommandLineLength, stopping);
            }
            catch (TimeoutException)
            {
                Logger.LogInformation("Session {SessionId} timed out waiting for a command", Id);
                Reply(SmtpReplies.Timeout);
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
        Transaction = null;
    }

    public void Authenticated(string identity) => Identity = identity;

    public void BeginTransaction(MailTransaction transaction) => Transaction = transaction;

    public void EndTransaction() => Transaction = null;

    /// <summary>Relay's trace field (RFC 5321 §4.4), with the protocol name of RFC 3848.</summary>
    public string BuildReceivedHeader(MailTransaction transaction)
    {
        var protocol = (IsExtended ? "ESMTP" : "SMTP") + (IsAuthenticated ? "A" : string.Empty);
        var forClause = transaction.Recipients.Count == 1 ? $"\r\n\tfor <{transaction.Recipients[0]}>" : string.Empty;
        var date = DateTimeOffset.UtcNow.ToString("ddd, dd MMM yyyy HH:mm:ss +0000", CultureInfo.InvariantCulture);
        return $"Received: from {HeloName} ([{RemoteAddress}])\r\n\tby {Options.ServerName} (Relay) with {protocol} id {transaction.QueueId}{forClause};\r\n\t{date}\r\n";
    }

    private async Task DispatchAsync(LineReadResult line, CancellationToken stopping)
    {
        if (line.Status == LineReadStatus.TooLong)
        {
            Error(SmtpReplies.LineTooLong);
            return;
        }
        if (!SmtpCommandLine.TryParse(line.Text, out var commandLine)
            || !commands.TryGet(commandLine.Verb, out var command))
        {
            Error(SmtpReplies.CommandUnrecognized);
            return;
        }
        if (!SmtpStateTable.TryGetTransition(State, commandLine.Verb, out var next))
        {
            Error(SmtpReplies.BadSequence(SmtpStateTable.For(State).ExpectedText));
            return;
        }

        Activity.Current?.AddEvent(new ActivityEvent("smtp.command", tags: new() { ["smtp.command"] = commandLine.Verb }));
        try
        {
            if (await command.ExecuteAsync(this, commandLine.Argument, stopping))
            {
                State = next;
            }
        }
        catch (TimeoutException)
        {
            Logger.LogInformation("Session {SessionId} timed out during {Verb}", Id, commandLine.Verb);
            Close(SmtpReplies.Timeout);
        }
    }
}
