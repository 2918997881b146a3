using System.Diagnostics;
using MailKit;

namespace Relay.Bench.Load;

/// <summary>
/// Times DATA→250 inside MailKit, which has no hook between the message data and the reply: as its protocol logger,
/// it notes when the client has written the end-of-data marker (CRLF.CRLF) and when the next server bytes arrive.
/// MailKit's SmtpStream logs a write once the socket has taken it and a read as soon as it returns, so the time is the
/// server's answer plus loopback, without MailKit's own parsing of the reply.
/// </summary>
internal sealed class DataReplyTimer : IProtocolLogger
{
    private static readonly byte[] EndOfData = "\r\n.\r\n"u8.ToArray();

    /// <summary>The last bytes the client wrote, across calls: the marker can be split between two writes.</summary>
    private readonly byte[] _tail = new byte[5];
    private long _endOfDataAt;

    /// <summary>DATA→250 of each message sent through the client that logs here, in milliseconds.</summary>
    public List<double> Milliseconds { get; } = [];

    public IAuthenticationSecretDetector? AuthenticationSecretDetector { get; set; } = NoSecrets.Instance;

    public void LogConnect(Uri uri)
    {
    }

    public void LogClient(byte[] buffer, int offset, int count)
    {
        var take = Math.Min(count, _tail.Length);
        // Shift what is kept left by the bytes coming in, then append the newest bytes.
        Array.Copy(_tail, take, _tail, 0, _tail.Length - take);
        Array.Copy(buffer, offset + count - take, _tail, _tail.Length - take, take);
        if (_tail.AsSpan().SequenceEqual(EndOfData))
        {
            _endOfDataAt = Stopwatch.GetTimestamp();
        }
    }

    public void LogServer(byte[] buffer, int offset, int count)
    {
        if (_endOfDataAt != 0)
        {
            Milliseconds.Add(Stopwatch.GetElapsedTime(_endOfDataAt).TotalMilliseconds);
            _endOfDataAt = 0;
        }
    }

    public void Dispose()
    {
    }

    /// <summary>MailKit asks the logger where secrets are to mask them; the benchmark never authenticates.</summary>
    private sealed class NoSecrets : IAuthenticationSecretDetector
    {
        public static readonly NoSecrets Instance = new();

        public IList<AuthenticationSecret> DetectSecrets(byte[] buffer, int offset, int count) => [];
    }
}
