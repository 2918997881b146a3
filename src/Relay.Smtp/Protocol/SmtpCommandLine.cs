namespace Relay.Smtp.Protocol;

/// <summary>A command line split into its verb (upper-cased, RFC 5321 §2.4: verbs are case-insensitive) and argument.</summary>
public readonly record struct SmtpCommandLine(string Verb, string Argument)
{
    private const int LongestVerb = 8; // STARTTLS

    /// <summary>
    /// Splits a line. The verb must be followed by a space or the end of the line, so <c>DATAX</c> is not
    /// <c>DATA</c> and <c>MAIL</c> needs its argument to be separated.
    /// </summary>
    public static bool TryParse(string line, out SmtpCommandLine command)
    {
        var space = line.IndexOf(' ');
        var verb = space < 0 ? line : line[..space];
        command = default;
        if (verb.Length is 0 or > LongestVerb || !verb.All(char.IsAsciiLetter))
        {
            return false;
        }
        var argument = space < 0 ? string.Empty : line[(space + 1)..].Trim(' ');
        command = new SmtpCommandLine(verb.ToUpperInvariant(), argument);
        return true;
    }
}
