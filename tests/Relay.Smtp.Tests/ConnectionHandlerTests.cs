using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Relay.Contracts;
using Relay.Smtp.Delivery;
using Relay.Smtp.Hosting;
using Relay.Smtp.Policy;
using Relay.Smtp.Tls;

namespace Relay.Smtp.Tests;

/// <summary>The host's last line of defence around a session, on an in-memory connection.</summary>
public class ConnectionHandlerTests
{
    [Fact]
    public async Task ABugInsideASessionIsAnswered421AndLoggedAsAnError()
    {
        var logs = new ListLogger();
        var options = Options.Create(SessionHarness.Options());
        var handler = new SmtpConnectionHandler(options, new ThrowingSender(), new ConnectionLimiter(options),
            new AuthFailureThrottle(options, TimeProvider.System),
            new ServerCertificate(options, NullLogger<ServerCertificate>.Instance, TimeProvider.System),
            TimeProvider.System, new Lifetime(), logs);
        var toServer = new Pipe();
        var fromServer = new Pipe();
        var connection = new DefaultConnectionContext("bug", new DuplexPipe(toServer.Reader, fromServer.Writer), new DuplexPipe(fromServer.Reader, toServer.Writer))
        {
            RemoteEndPoint = new IPEndPoint(IPAddress.Loopback, 40000),
        };

        await toServer.Writer.WriteAsync(Encoding.ASCII.GetBytes($"EHLO x\r\nAUTH PLAIN {SessionHarness.PlainLogin}\r\n"));
        await toServer.Writer.CompleteAsync();
        await handler.OnConnectedAsync(connection, implicitTls: false).WaitAsync(TimeSpan.FromSeconds(30));
        await fromServer.Writer.CompleteAsync();
        var output = Encoding.ASCII.GetString((await fromServer.Reader.ReadAsync()).Buffer.ToArray());

        Assert.Equal(["220", "250", "421 4.3.0"], SessionHarness.ReplyCodes(output));
        var error = Assert.Single(logs.Entries, e => e.Level == LogLevel.Error);
        Assert.IsType<InvalidOperationException>(error.Exception);
        Assert.DoesNotContain(FakeSenderClient.Password, string.Join('\n', logs.Entries.Select(e => e.Message)), StringComparison.Ordinal);
    }

    private sealed class ThrowingSender : ISenderClient
    {
        public Task<AuthenticateReply> AuthenticateAsync(AuthenticateRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("a bug");

        public Task<IMessageSubmission?> BeginSubmissionAsync(Envelope envelope, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("a bug");
    }

    private sealed class Lifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;
        public CancellationToken ApplicationStopping => CancellationToken.None;
        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }

    private sealed class ListLogger : ILogger<SmtpConnectionHandler>
    {
        public List<(LogLevel Level, string Message, Exception? Exception)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, formatter(state, exception), exception));
    }
}
