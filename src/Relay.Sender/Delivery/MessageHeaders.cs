using MimeKit;

namespace Relay.Sender.Delivery;

/// <summary>The header fields delivery and policy need, parsed with MimeKit from the header block only.</summary>
public sealed record MessageHeaders(
    IReadOnlyList<string> From,
    IReadOnlyList<string> To,
    IReadOnlyList<string> Cc,
    bool HasBcc,
    string? MessageId)
{
    /// <summary>Reads the header block; null when it is not a header block at all.</summary>
    public static MessageHeaders? Read(Stream body)
    {
        HeaderList headers;
        try
        {
            headers = new MimeParser(body, MimeFormat.Entity).ParseHeaders();
        }
        catch (FormatException)
        {
            return null;
        }
        var from = Addresses(headers, HeaderId.From);
        if (from is null)
        {
            // A From: that cannot be parsed must not fall back to MAIL FROM: recipients would see an unchecked sender.
            return null;
        }
        return new MessageHeaders(
            from,
            Addresses(headers, HeaderId.To) ?? [],
            Addresses(headers, HeaderId.Cc) ?? [],
            headers.Contains(HeaderId.Bcc),
            headers[HeaderId.MessageId]?.Trim());
    }

    /// <summary>The envelope recipients that To and Cc do not already name: they must be added as Bcc.</summary>
    public IReadOnlyList<string> MissingFromHeaders(IEnumerable<string> recipients)
    {
        var visible = new HashSet<string>(To.Concat(Cc), StringComparer.OrdinalIgnoreCase);
        return recipients.Where(r => !visible.Contains(r)).ToArray();
    }

    /// <summary>
    /// The To and Cc addresses that are not envelope recipients, each once, in header order: Graph delivers to them
    /// although the client did not ask for it.
    /// </summary>
    public IReadOnlyList<string> MissingFromEnvelope(IEnumerable<string> recipients)
    {
        var envelope = new HashSet<string>(recipients, StringComparer.OrdinalIgnoreCase);
        return To.Concat(Cc).Where(a => !envelope.Contains(a)).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
    }

    /// <summary>Every mailbox in every field with this id; null when one of the fields cannot be parsed.</summary>
    private static string[]? Addresses(HeaderList headers, HeaderId id)
    {
        var addresses = new List<string>();
        foreach (var header in headers.Where(h => h.Id == id))
        {
            if (!InternetAddressList.TryParse(ParserOptions.Default, header.RawValue, out var list))
            {
                return null;
            }
            addresses.AddRange(list.Mailboxes.Select(m => m.Address));
        }
        return [.. addresses];
    }
}
