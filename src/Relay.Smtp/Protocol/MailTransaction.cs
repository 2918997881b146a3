using System.Security.Cryptography;

namespace Relay.Smtp.Protocol;

/// <summary>One mail transaction (RFC 5321 §3.3): from MAIL to the end of DATA or RSET.</summary>
public sealed class MailTransaction(string reversePath, long declaredSize, bool smtpUtf8 = false) : IDisposable
{
    private readonly HashSet<string> _seen = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _recipients = [];

    /// <summary>Names the message in replies, logs, traces and Relay's Received: header.</summary>
    public string QueueId { get; } = NewQueueId();

    /// <summary>Empty for the null reverse-path <c>&lt;&gt;</c>.</summary>
    public string ReversePath { get; } = reversePath;

    public long DeclaredSize { get; } = declaredSize;

    public IReadOnlyList<string> Recipients => _recipients;

    /// <summary>MAIL had the SMTPUTF8 parameter (RFC 6531 §3.4): internationalised addresses are allowed.</summary>
    public bool SmtpUtf8 { get; } = smtpUtf8;

    /// <summary>The content on its way to Relay.Sender, once BDAT has started it; DATA keeps its own.</summary>
    public MessageUpload? Upload { get; set; }

    /// <summary>Abandons the content, if any was started: Relay.Sender discards it.</summary>
    public void Dispose() => Upload?.Dispose();

    /// <summary>Adds a recipient once; a repeated RCPT for the same address is accepted but not duplicated.</summary>
    public void AddRecipient(string address)
    {
        if (_seen.Add(address))
        {
            _recipients.Add(address);
        }
    }

    // 12 characters of Crockford base32 (60 random bits): short enough to read over the phone, unique enough for a log.
    private static string NewQueueId()
    {
        const string alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        var value = BitConverter.ToUInt64(bytes);
        return string.Create(12, value, static (chars, v) =>
        {
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = alphabet[(int)(v & 31)];
                v >>= 5;
            }
        });
    }
}
