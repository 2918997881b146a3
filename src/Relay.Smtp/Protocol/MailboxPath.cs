namespace Relay.Smtp.Protocol;

public enum MailboxPathStatus
{
    Ok,
    /// <summary>Not <c>KEYWORD:</c> followed by a path at all.</summary>
    Syntax,
    /// <summary>The path is there but the address is malformed.</summary>
    BadAddress,
}

/// <summary>
/// The path and parameters of <c>MAIL FROM:</c> and <c>RCPT TO:</c> (RFC 5321 §4.1.2). The address is checked
/// for shape, not deliverability: local part, one <c>@</c>, a domain, no spaces or control characters.
/// </summary>
public sealed record MailboxPath(string Address, IReadOnlyDictionary<string, string?> Parameters)
{
    // RFC 5321 §4.5.3.1.1–3: local part 64, domain 255, path 256 octets.
    private const int MaxLocalPart = 64;
    private const int MaxDomain = 255;
    private const int MaxPath = 256;

    /// <summary>False for an internationalised address (RFC 6531), which needs the SMTPUTF8 parameter.</summary>
    public bool IsAscii => System.Text.Ascii.IsValid(Address);

    /// <param name="argument">What follows the verb, e.g. <c>FROM:&lt;a@b&gt; SIZE=10</c>.</param>
    /// <param name="keyword"><c>FROM</c> or <c>TO</c>.</param>
    /// <param name="allowNull">True for MAIL, where <c>&lt;&gt;</c> is the null reverse-path.</param>
    public static MailboxPathStatus TryParse(string argument, string keyword, bool allowNull, out MailboxPath path)
    {
        path = null!;
        if (!argument.StartsWith(keyword, StringComparison.OrdinalIgnoreCase)
            || argument.Length <= keyword.Length || argument[keyword.Length] != ':')
        {
            return MailboxPathStatus.Syntax;
        }

        // Postfix-style leniency: "FROM: <a@b>" with a space is accepted, as is an address without brackets.
        var rest = argument[(keyword.Length + 1)..].TrimStart(' ');
        string address;
        string parameterText;
        if (rest.StartsWith('<'))
        {
            var close = rest.IndexOf('>');
            if (close < 0)
            {
                return MailboxPathStatus.BadAddress;
            }
            address = rest[1..close];
            parameterText = rest[(close + 1)..];
            if (parameterText.Length > 0 && parameterText[0] != ' ')
            {
                return MailboxPathStatus.Syntax;
            }
        }
        else
        {
            var space = rest.IndexOf(' ');
            address = space < 0 ? rest : rest[..space];
            parameterText = space < 0 ? string.Empty : rest[space..];
        }

        address = StripSourceRoute(address);
        if (address.Length == 0 ? !allowNull : !IsValidAddress(address))
        {
            return MailboxPathStatus.BadAddress;
        }
        if (!TryParseParameters(parameterText, out var parameters))
        {
            return MailboxPathStatus.Syntax;
        }
        path = new MailboxPath(address, parameters);
        return MailboxPathStatus.Ok;
    }

    // RFC 5321 §4.1.2 obsolete source routes ("@a,@b:user@c") must be accepted and the route ignored.
    private static string StripSourceRoute(string address) =>
        address.StartsWith('@') && address.IndexOf(':') is var colon and > 0 ? address[(colon + 1)..] : address;

    private static bool IsValidAddress(string address)
    {
        if (address.Length > MaxPath || address.Any(c => char.IsControl(c) || c == ' '))
        {
            return false;
        }
        var at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1)
        {
            return false;
        }
        var local = address[..at];
        var domain = address[(at + 1)..];
        return local.Length <= MaxLocalPart
            && domain.Length <= MaxDomain
            && (IsAddressLiteral(domain) || domain.Split('.').All(IsDomainLabel))
            && (local.StartsWith('"') || !local.Contains('"') && !local.Contains('<') && !local.Contains('>'));
    }

    private static bool IsAddressLiteral(string domain) => domain.StartsWith('[') && domain.EndsWith(']');

    private static bool IsDomainLabel(string label) =>
        label.Length is > 0 and <= 63
        && label[0] != '-' && label[^1] != '-'
        && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-' || c > 127);

    private static bool TryParseParameters(string text, out Dictionary<string, string?> parameters)
    {
        parameters = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = item.IndexOf('=');
            var name = equals < 0 ? item : item[..equals];
            if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                return false;
            }
            parameters[name] = equals < 0 ? null : item[(equals + 1)..];
        }
        return true;
    }
}
