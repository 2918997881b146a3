using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Relay.Testing;

namespace Relay.EndToEnd.Tests.Faults;

/// <summary>
/// Sends a scenario's messages with MailKit, as a device would: several sessions at once, each logging in and sending
/// message after message on one connection, reconnecting after a drop. Every attempt's outcome goes to the ledger.
/// </summary>
internal static class FaultLoad
{
    /// <summary>What each command may take before the client gives up (a Graph stall is answered well within it).</summary>
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(90);

    /// <summary>Sends every message once over <paramref name="sessions"/> concurrent connections; returns when all have an outcome.</summary>
    /// <param name="pause">Waited between two messages of one session, for a steady rate rather than a burst.</param>
    public static async Task SendAsync(int port, MessageLedger ledger, IEnumerable<MimeMessage> messages, int sessions, TimeSpan? pause = null)
    {
        var queue = new ConcurrentQueue<MimeMessage>(messages);
        var limit = TimeSpan.FromSeconds(60) + ClientTimeout * (queue.Count / Math.Max(1, sessions) + 1);
        await Task.WhenAll(Enumerable.Range(0, sessions).Select(_ => Task.Run(() => SessionAsync(port, ledger, queue, pause)))).WaitAsync(limit);
    }

    /// <summary>
    /// A steady load until <paramref name="until"/> is cancelled: each session sends <paramref name="perConnection"/>
    /// messages made by <paramref name="next"/>, <paramref name="pause"/> apart, then reconnects (connections come and go,
    /// as devices do). A cancelled load finishes the session in hand, never stops in the middle of a message.
    /// </summary>
    public static async Task SendUntilAsync(int port, MessageLedger ledger, Func<MimeMessage> next, int sessions, int perConnection, TimeSpan pause, CancellationToken until)
    {
        await Task.WhenAll(Enumerable.Range(0, sessions).Select(_ => Task.Run(async () =>
        {
            while (!until.IsCancellationRequested)
            {
                await SessionAsync(port, ledger, new ConcurrentQueue<MimeMessage>(Enumerable.Range(0, perConnection).Select(_ => next())), pause);
            }
        })));
    }

    /// <summary>Resends each refused or dropped message once, as a client does after a 4xx; the ledger keeps every attempt.</summary>
    public static Task ResendRefusedAsync(int port, MessageLedger ledger, IReadOnlyDictionary<string, MimeMessage> sent, int sessions) =>
        SendAsync(port, ledger, ledger.Refused().Select(id => sent[id]), sessions);

    private static async Task SessionAsync(int port, MessageLedger ledger, ConcurrentQueue<MimeMessage> queue, TimeSpan? pause)
    {
        SmtpClient? client = null;
        try
        {
            while (queue.TryDequeue(out var message))
            {
                var (attempt, keep) = await SendOneAsync(port, client ??= new SmtpClient { Timeout = (int)ClientTimeout.TotalMilliseconds }, message);
                ledger.Record(message.MessageId!, attempt);
                if (!keep)
                {
                    client.Dispose();
                    client = null;
                }
                if (pause is { } wait)
                {
                    await Task.Delay(wait);
                }
            }
            if (client is { IsConnected: true })
            {
                await client.DisconnectAsync(quit: true).WaitAsync(ClientTimeout);
            }
        }
        catch (Exception ex) when (ex is IOException or SmtpProtocolException or SmtpCommandException or TimeoutException)
        {
            // Only QUIT can get here: every message already has its outcome, and a failed goodbye changes none.
        }
        finally
        {
            client?.Dispose();
        }
    }

    /// <summary>One attempt: connects and logs in when needed, then sends. Returns the outcome and whether the connection is still usable.</summary>
    private static async Task<(Attempt Attempt, bool KeepConnection)> SendOneAsync(int port, SmtpClient client, MimeMessage message)
    {
        try
        {
            if (!client.IsConnected)
            {
                await client.ConnectAsync("127.0.0.1", port, SecureSocketOptions.None);
                await client.AuthenticateAsync(RelayStack.Account, RelayStack.Password);
            }
            var reply = await client.SendAsync(message);
            return (new Attempt(250, reply), true);
        }
        catch (SmtpCommandException refused)
        {
            var code = (int)refused.StatusCode;
            return (new Attempt(code, refused.Message), code != 421 && client.IsConnected);
        }
        catch (AuthenticationException refused)
        {
            // MailKit carries the AUTH reply's code in the inner exception (454 when Relay.Sender cannot be asked).
            var code = refused.InnerException is SmtpCommandException inner ? (int)inner.StatusCode : CodeIn(refused.Message);
            return (new Attempt(code, refused.Message), false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or SmtpProtocolException or ServiceNotConnectedException or OperationCanceledException or TimeoutException)
        {
            // No reply: the connection was refused, reset or closed before the server answered.
            return (new Attempt(0, $"{ex.GetType().Name}: {ex.Message}"), false);
        }
    }

    private static int CodeIn(string text) =>
        text.Length >= 3 && int.TryParse(text.AsSpan(0, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var code)
            ? code
            : throw new InvalidOperationException($"MailKit reported an AUTH failure without a reply code: {text}");
}

/// <summary>What reached the mail stores, as Message-IDs (one entry per copy).</summary>
internal static class MailStores
{
    public static IEnumerable<string?> InGraph(FakeMicrosoftCloud cloud) => cloud.SentMail.Select(sent => MessageId(sent.Mime!));

    public static IEnumerable<string?> InPickup(string folder) =>
        Directory.GetFiles(folder, "*.eml").Select(file => MimeMessage.Load(file).MessageId);

    public static string? MessageId(byte[] mime)
    {
        using var stream = new MemoryStream(mime);
        return MimeMessage.Load(stream).MessageId;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, polling, for at most <paramref name="timeout"/>; false if it never did.</summary>
    public static async Task<bool> WaitForAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(100);
        }
        return true;
    }
}
