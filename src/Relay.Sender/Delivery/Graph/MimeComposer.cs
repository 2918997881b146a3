using System.Text;

namespace Relay.Sender.Delivery.Graph;

/// <summary>
/// Builds the MIME that goes to Graph: Relay's Received: line, a Bcc: field naming the envelope recipients that To and
/// Cc do not (Graph has no separate envelope), then the client's message unchanged — apart from any Bcc: field of its
/// own, which is replaced so that only envelope recipients receive a blind copy.
/// </summary>
public static class MimeComposer
{
    public static byte[] Compose(string traceHeader, IReadOnlyList<string> blindRecipients, byte[] original, bool originalHasBcc)
    {
        var prefix = new StringBuilder(traceHeader);
        if (blindRecipients.Count > 0)
        {
            // One address per folded line keeps every line far below RFC 5322's 998-octet limit.
            prefix.Append("Bcc: ").AppendJoin(",\r\n ", blindRecipients.Select(r => $"<{r}>")).Append("\r\n");
        }
        var body = originalHasBcc ? RemoveHeaderField(original, "Bcc") : original;
        var head = Encoding.UTF8.GetBytes(prefix.ToString());
        var result = new byte[head.Length + body.Length];
        head.CopyTo(result, 0);
        body.CopyTo(result, head.Length);
        return result;
    }

    /// <summary>Removes every occurrence of a header field, with its folded continuation lines, from the header block.</summary>
    public static byte[] RemoveHeaderField(byte[] message, string name)
    {
        var output = new MemoryStream(message.Length);
        var position = 0;
        var skipping = false;
        while (position < message.Length)
        {
            var end = Array.IndexOf(message, (byte)'\n', position);
            var next = end < 0 ? message.Length : end + 1;
            var line = message.AsSpan(position, next - position);
            if (line.TrimEnd("\r\n"u8).IsEmpty)
            {
                // The blank line ends the header block; the rest is copied as it is.
                output.Write(message, position, message.Length - position);
                break;
            }
            var continuation = line[0] is (byte)' ' or (byte)'\t';
            if (!continuation)
            {
                skipping = IsField(line, name);
            }
            if (!skipping)
            {
                output.Write(line);
            }
            position = next;
        }
        return output.ToArray();
    }

    private static bool IsField(ReadOnlySpan<byte> line, string name)
    {
        var colon = line.IndexOf((byte)':');
        return colon > 0 && Ascii.EqualsIgnoreCase(line[..colon].TrimEnd(" \t"u8), name);
    }
}
