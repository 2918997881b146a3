using System.Diagnostics;
using System.Net;
using System.Security.Authentication;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Relay.Smtp.Delivery;
using Relay.Smtp.Policy;
using Relay.Smtp.Protocol;
using Relay.Smtp.Tls;

namespace Relay.Smtp.Hosting;

/// <summary>
/// Hosts one SMTP session per Kestrel connection. Kestrel owns the accept loop, connection ids and graceful
/// shutdown; this class owns admission (allowed networks, connection limits), implicit TLS, and the last line of
/// defence around a session.
/// </summary>
public sealed partial class SmtpConnectionHandler(
    IOptions<SmtpOptions> options,
    ISenderClient sender,
    ConnectionLimiter limiter,
    AuthFailureThrottle authFailures,
    ServerCertificate certificate,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<SmtpConnectionHandler> logger)
{
    private readonly SmtpServerContext _server = new(options.Value, sender, new NetworkPolicy(options.Value),
        authFailures, certificate, time, logger);

    /// <param name="connection">The accepted connection.</param>
    /// <param name="implicitTls">True on <c>Smtp:ImplicitTlsPort</c>: TLS starts before the greeting (RFC 8314 §3.3).</param>
    public async Task OnConnectedAsync(ConnectionContext connection, bool implicitTls)
    {
        var remote = (connection.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        await using var transport = new SmtpTransport(connection.Transport, time);
        if (!_server.NetworkPolicy.AllowsConnection(remote))
        {
            LogNotAllowed(logger, remote);
            await RefuseAsync(transport, SmtpReplies.ConnectionNotAllowed, implicitTls, connection);
            return;
        }
        if (!limiter.TryAcquire(remote))
        {
            LogRefused(logger, remote);
            await RefuseAsync(transport, SmtpReplies.TooManyConnections, implicitTls, connection);
            return;
        }

        using var activity = SmtpTelemetry.Source.StartActivity("smtp.session", ActivityKind.Server);
        activity?.SetTag("client.address", remote.ToString());
        activity?.SetTag("client.port", (connection.RemoteEndPoint as IPEndPoint)?.Port);
        activity?.SetTag("server.port", (connection.LocalEndPoint as IPEndPoint)?.Port);
        activity?.SetTag("network.protocol.name", "smtp");
        activity?.SetTag("smtp.session.id", connection.ConnectionId);
        activity?.SetTag("relay.smtp.implicit_tls", implicitTls);
        SmtpTelemetry.ActiveConnections.Add(1);
        SmtpTelemetry.Sessions.Add(1, new KeyValuePair<string, object?>("implicit_tls", implicitTls));
        try
        {
            if (implicitTls && !await TryHandshakeAsync(transport, connection.ConnectionId, remote))
            {
                return;
            }
            var session = new SmtpSession(connection.ConnectionId, remote, transport, _server);
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

    private async Task<bool> TryHandshakeAsync(SmtpTransport transport, string connectionId, IPAddress remote)
    {
        try
        {
            await transport.StartTlsAsync(certificate.AuthenticationOptions(), options.Value.Tls.HandshakeTimeout,
                afterCommand: false, lifetime.ApplicationStopping);
            return true;
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException)
        {
            LogHandshakeFailed(logger, connectionId, remote, ex is OperationCanceledException ? "timed out" : ex.Message);
            return false;
        }
    }

    /// <summary>
    /// Turns a client away with one reply. On the implicit-TLS port there is no clear-text channel to say it in, so
    /// the connection is just closed.
    /// </summary>
    private async Task RefuseAsync(SmtpTransport transport, SmtpReply reply, bool implicitTls, ConnectionContext connection)
    {
        if (!implicitTls)
        {
            transport.Write(reply);
            await TryFlushAsync(transport, connection.ConnectionId);
        }
    }

    private async Task TryReplyAsync(SmtpTransport transport, SmtpReply reply)
    {
        transport.Write(reply);
        await TryFlushAsync(transport, "-");
    }

    private async Task TryFlushAsync(SmtpTransport transport, string connectionId)
    {
        try
        {
            await transport.FlushAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is IOException or ConnectionResetException or ConnectionAbortedException or InvalidOperationException)
        {
            LogConnectionLost(logger, connectionId, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection from {ClientAddress} refused: connection limit reached")]
    private static partial void LogRefused(ILogger logger, IPAddress clientAddress);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection from {ClientAddress} refused: not in Smtp:AllowedNetworks")]
    private static partial void LogNotAllowed(ILogger logger, IPAddress clientAddress);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId} from {ClientAddress}: implicit TLS handshake failed: {Reason}")]
    private static partial void LogHandshakeFailed(ILogger logger, string sessionId, IPAddress clientAddress, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {SessionId} lost its connection: {Reason}")]
    private static partial void LogConnectionLost(ILogger logger, string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Session {SessionId} failed unexpectedly; answered 421")]
    private static partial void LogSessionFailed(ILogger logger, Exception exception, string sessionId);
}
