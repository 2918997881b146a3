using System.Buffers.Text;

namespace Relay.Sender.Identity.AppLogins;

/// <summary>
/// An app-credential username, as smtp-oauth-relay accepts them: <c>TENANT@CLIENT</c>, with <c>:</c> or <c>|</c> as
/// the delimiter too, each GUID either in its usual 36-character form or as 22 characters of base64url (its 16 bytes
/// in RFC 4122 order); or <c>KEY@lookup</c>. Everything from the first <c>.</c> on is ignored, so a device that insists
/// on an address-shaped username can use <c>TENANT@CLIENT.example.com</c>.
/// </summary>
public readonly record struct AppLoginName(Guid TenantId, Guid ClientId, string? LookupKey)
{
    private const string LookupMarker = "lookup";
    private static readonly char[] Delimiters = ['@', ':', '|'];

    public bool IsLookup => LookupKey is not null;

    public static bool TryParse(string username, out AppLoginName name)
    {
        name = default;
        var text = username.AsSpan();
        var dot = text.IndexOf('.');
        if (dot >= 0)
        {
            text = text[..dot];
        }
        var delimiter = text.IndexOfAny(Delimiters);
        if (delimiter <= 0 || delimiter == text.Length - 1)
        {
            return false;
        }
        var left = text[..delimiter];
        var right = text[(delimiter + 1)..];
        if (right.Equals(LookupMarker, StringComparison.OrdinalIgnoreCase))
        {
            name = new AppLoginName(Guid.Empty, Guid.Empty, left.ToString());
            return true;
        }
        if (TryParseGuid(left, out var tenant) && TryParseGuid(right, out var client))
        {
            name = new AppLoginName(tenant, client, null);
            return true;
        }
        return false;
    }

    /// <summary>A GUID in its 36-character form (hyphens, no braces) or as 22 characters of base64url.</summary>
    public static bool TryParseGuid(ReadOnlySpan<char> text, out Guid guid)
    {
        guid = Guid.Empty;
        if (text.Length == 36)
        {
            return Guid.TryParseExact(text, "D", out guid);
        }
        Span<byte> bytes = stackalloc byte[16];
        if (text.Length != 22 || !Base64Url.TryDecodeFromChars(text, bytes, out var written) || written != 16)
        {
            return false;
        }
        guid = new Guid(bytes, bigEndian: true);
        return true;
    }

    public static bool IsGuid(string? text) => text is not null && TryParseGuid(text, out _);
}
