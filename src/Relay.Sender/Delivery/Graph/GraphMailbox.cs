namespace Relay.Sender.Delivery.Graph;

/// <summary>
/// Whether an address can name the mailbox in <c>/users/{mailbox}/sendMail</c>. Relay never puts anything else in that
/// URL: not the null sender <c>&lt;&gt;</c>, not an empty string, not a From: address that is no address at all.
/// The SDK percent-encodes the segment (<c>+</c> as <c>%2B</c>, <c>'</c> as <c>%27</c>, <c>@</c> as <c>%40</c>), so any
/// character that passes here reaches Graph as itself.
/// </summary>
/// <remarks>
/// A Microsoft 365 mailbox address is an RFC 5322 dot-atom local part (letters, digits and
/// <c>!#$%&amp;'*+-/=?^_`{|}~</c>, dots between them; UTF-8 letters for internationalised addresses), <c>@</c>, and a
/// domain name of at least two labels. Quoted local parts (<c>"a b"@contoso.com</c>), address literals
/// (<c>a@[192.0.2.1]</c>) and domainless names (<c>scanner</c>) are valid in a message but can never name an Exchange
/// Online mailbox, so they are refused before Graph is called.
/// </remarks>
public static class GraphMailbox
{
    // RFC 5321 §4.5.3.1.1–2: local part 64 octets, domain 255.
    private const int MaxLocalPart = 64;
    private const int MaxDomain = 255;

    public static bool IsValid(string? address)
    {
        if (string.IsNullOrEmpty(address))
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
        return System.Text.Encoding.UTF8.GetByteCount(local) <= MaxLocalPart
            && System.Text.Encoding.UTF8.GetByteCount(domain) <= MaxDomain
            && local.Split('.').All(IsAtom)
            && domain.Split('.') is { Length: >= 2 } labels && labels.All(IsDomainLabel);
    }

    private static bool IsAtom(string atom) => atom.Length > 0 && atom.All(IsAtomText);

    /// <summary>RFC 5322 <c>atext</c>, and RFC 6532's UTF-8 characters beyond ASCII (not controls or spaces).</summary>
    private static bool IsAtomText(char c) =>
        char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-/=?^_`{|}~".Contains(c) || IsUtf8Text(c);

    private static bool IsDomainLabel(string label) =>
        label.Length is > 0 and <= 63
        && label[0] != '-' && label[^1] != '-'
        && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-' || IsUtf8Text(c));

    /// <summary>A character beyond ASCII that is neither a control nor a space (IDNA decides the rest, at Graph).</summary>
    private static bool IsUtf8Text(char c) => c > 127 && !char.IsControl(c) && !char.IsWhiteSpace(c);
}
