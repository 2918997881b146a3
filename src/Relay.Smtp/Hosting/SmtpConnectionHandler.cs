using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Relay.Smtp.Delivery;
using Relay.Smtp.Protocol;

namespace Relay.Smtp.Hosting;

/// <summary>
/// Hosts one SMTP session per Kestrel connection. Kestrel owns the accept loop, connection ids and graceful
/// shutdown; this class owns admission (connection limits) and the last line of defence around a session.
/// </summary>
public sealed partial class SmtpConnectionHandler(
    IOptions<SmtpOptions> options,
    ISenderClient sender,
    ConnectionLimiter limiter,
    IHostApplicationLifetime lifetime,
    ILogger<SmtpConnectionHandler> logger) : ConnectionHandler
{
    private readonly NetworkPolicy _networkPolicy = new(options.Value.Anonymous.AllowedNetworks);

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var remote = (connection.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        var transport = new SmtpTransport(connection.Transport.Input, connection.Transport.Output);
        if (!limiter.TryAcquire(remote))
        {
            LogRefused(logger, remote);
            transport.Write(SmtpReplies.TooManyConnections);
            await transport.FlushAsync(connection.ConnectionClosed);
            return;
        }

        using var activity = SmtpTelemetry.Source.StartActivity("smtp.session", ActivityKind.Server);
        activity?.SetTag("client.address", remote.ToString());
        activity?.SetTag("smtp.session.id", connection.ConnectionId);
        SmtpTelemetry.ActiveConnections.Add(1);
        var session = new SmtpSession(connection.ConnectionId, remote, transport, options.Value, sender,
            SmtpCommandSet.Default, _networkPolicy, logger);
        try
        {
            await session.RunAsync(lifetime.ApplicationStopping);
        }
        catch (Exception ex) when (ex is IOException or ConnectionResetException or ConnectionAbortedException)
        {
            LogConnectionLost(logger, connection.ConnectionId, ex.Message);
        }
        catch (Exception ex)
        {
            // A bug, not a client problem: tell the client to come back later and keep the server running.
            LogSessionFailed(logger, ex, connection.ConnectionId);
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            await TryReplyAsync(transport, SmtpReplies.InternalError);
        }
        finally
        {
            SmtpTelemetry.ActiveConnections.Add(-1);
            limiter.Release(remote);
        }
    }

    private async Task TryReplyAsync(SmtpTransport transport, Protocol.SmtpReply reply)
    {
        try
        {
            transport.Write(reply);
            await transport.FlushAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is IOException or ConnectionResetException or InvalidOperationException)
        {
            LogConnectionLost(logger, "-", ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection from {ClientAddress} refused: connection limit reached")]
    private static partial void LogRefused(ILogger logger, IPAddress clientAddress);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {SessionId} lost its connection: {Reason}")]
    private static partial void LogConnectionLost(ILogger logger, string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Session {SessionId} failed unexpectedly; answered 421")]
    private static partial void LogSessionFailed(ILogger logger, Exception exception, string sessionId);
}
