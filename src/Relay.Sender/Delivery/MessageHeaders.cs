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
        return new MessageHeaders(
            Addresses(headers, HeaderId.From),
            Addresses(headers, HeaderId.To),
            Addresses(headers, HeaderId.Cc),
            headers.Contains(HeaderId.Bcc),
            headers[HeaderId.MessageId]?.Trim());
    }

    /// <summary>The envelope recipients that To and Cc do not already name: they must be added as Bcc.</summary>
    public IReadOnlyList<string> MissingFromHeaders(IEnumerable<string> recipients)
    {
        var visible = new HashSet<string>(To.Concat(Cc), StringComparer.OrdinalIgnoreCase);
        return recipients.Where(r => !visible.Contains(r)).ToArray();
    }

    private static string[] Addresses(HeaderList headers, HeaderId id) =>
        headers.Where(h => h.Id == id)
            .SelectMany(h => InternetAddressList.TryParse(ParserOptions.Default, h.RawValue, out var list)
                ? list.Mailboxes.Select(m => m.Address)
                : [])
            .ToArray();
}
