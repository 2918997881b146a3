namespace Relay.Sender.Identity;

/// <summary>An <c>AllowedSenders</c> entry: an address, or <c>*@domain</c> for every address of a domain.</summary>
public static class SenderPattern
{
    public static bool IsValid(string pattern) =>
        pattern.StartsWith("*@", StringComparison.Ordinal) ? pattern.Length > 2 && !pattern[2..].Contains('@') : IsAddress(pattern);

    public static bool IsAddress(string address)
    {
        var at = address.LastIndexOf('@');
        return at > 0 && at < address.Length - 1 && !address.Any(char.IsWhiteSpace);
    }

    public static bool Matches(IEnumerable<string> patterns, string address) =>
        patterns.Any(pattern => pattern.StartsWith("*@", StringComparison.Ordinal)
            ? address.EndsWith(pattern[1..], StringComparison.OrdinalIgnoreCase)
            : address.Equals(pattern, StringComparison.OrdinalIgnoreCase));
}
