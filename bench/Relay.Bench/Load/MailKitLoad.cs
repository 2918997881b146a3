using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Relay.Bench.Load;

/// <summary>
/// MailKit's SmtpClient, one per connection in parallel, each sending until the phase ends (messages in flight then
/// finish): MAIL, RCPT and DATA go in one write when the server offers PIPELINING (Relay and smtp-sink do, aiosmtpd
/// does not). One message per connection, or message after message over one. From rotates over the cell's mailboxes.
/// </summary>
internal sealed class MailKitLoad : ILoadGenerator
{
    private static readonly MailboxAddress Recipient = MailboxAddress.Parse("rcpt@fabrikam.com");

    /// <summary>A client gives up on a reply after this long (MailKit's default is 2 minutes).</summary>
    private const int ReplyTimeoutMs = 120_000;

    private readonly ConcurrentDictionary<(int Size, int Worker), BenchMessage> _messages = new();

    public async Task<LoadResult> RunAsync(int port, Cell cell, TimeSpan duration, CancellationToken cancellationToken)
    {
        var mailboxes = Enumerable.Range(0, cell.Mailboxes)
            .Select(i => MailboxAddress.Parse(string.Create(CultureInfo.InvariantCulture, $"mailbox{i}@contoso.com")))
            .ToArray();
        var next = -1;
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var clock = Stopwatch.StartNew();
        var workers = await Task.WhenAll(Enumerable.Range(0, cell.Concurrency).Select(worker => Task.Run(() =>
        {
            var message = _messages.GetOrAdd((cell.Size, worker), key => BenchMessage.Create(key.Size));
            return SendUntilAsync(port, cell.ManyPerConnection, message, () => mailboxes[(Interlocked.Increment(ref next) & int.MaxValue) % mailboxes.Length], deadline, cancellationToken);
        }, cancellationToken)));
        var seconds = clock.Elapsed.TotalSeconds;
        return new LoadResult(
            workers.Sum(worker => worker.Sent),
            workers.Sum(worker => worker.Failed),
            seconds,
            workers.Sum(worker => worker.Sent * worker.Size),
            [.. workers.SelectMany(worker => worker.Timer.Milliseconds)],
            workers.Select(worker => worker.Error).FirstOrDefault(error => error is not null));
    }

    private sealed record WorkerResult(int Sent, int Failed, long Size, DataReplyTimer Timer, string? Error);

    private static async Task<WorkerResult> SendUntilAsync(int port, bool manyPerConnection, BenchMessage message, Func<MailboxAddress> nextMailbox, long deadline, CancellationToken cancellationToken)
    {
        var timer = new DataReplyTimer();
        var (sent, failed) = (0, 0);
        string? error = null;
        SmtpClient? client = null;
        try
        {
            while (Stopwatch.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested)
            {
                var from = nextMailbox();
                message.Address(from);
                try
                {
                    if (client is null)
                    {
                        client = new SmtpClient(timer) { Timeout = ReplyTimeoutMs };
                        await client.ConnectAsync("127.0.0.1", port, SecureSocketOptions.None, cancellationToken);
                    }
                    await client.SendAsync(message.Message, from, [Recipient], cancellationToken);
                    sent++;
                }
                catch (SmtpCommandException ex)
                {
                    // The server refused this message; the connection is still usable.
                    failed++;
                    error ??= $"{(int)ex.StatusCode} {ex.Message}";
                }
                catch (Exception ex) when (ex is SmtpProtocolException or IOException or SocketException or ServiceNotConnectedException or TimeoutException)
                {
                    // The connection broke, or no reply came within the timeout: count the message and start a new connection.
                    failed++;
                    error ??= $"{ex.GetType().Name}: {ex.Message}";
                    client?.Dispose();
                    client = null;
                }
                if (!manyPerConnection && client is not null)
                {
                    await QuitAsync(client);
                    client = null;
                }
            }
        }
        finally
        {
            if (client is not null)
            {
                await QuitAsync(client);
            }
        }
        return new WorkerResult(sent, failed, message.Size, timer, error);
    }

    private static async Task QuitAsync(SmtpClient client)
    {
        try
        {
            await client.DisconnectAsync(quit: true);
        }
        catch (Exception ex) when (ex is SmtpProtocolException or IOException or SocketException or ServiceNotConnectedException)
        {
            // The server closed first; the message it answered still counts.
        }
        finally
        {
            client.Dispose();
        }
    }
}
