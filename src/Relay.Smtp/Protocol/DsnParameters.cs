namespace Relay.Smtp.Protocol;

/// <summary>Syntax of the DSN parameters (RFC 3461), which Relay accepts without offering DSN.</summary>
public static class DsnParameters
{
    /// <summary>RFC 3461 §4.4: ENVID is at most 100 characters.</summary>
    public const int MaxEnvelopeIdLength = 100;

    /// <summary>xtext (RFC 3461 §4): printable ASCII except '+' and '=', which appear only as <c>+XX</c> hex escapes.</summary>
    public static bool IsXtext(string value, int maxLength = 500)
    {
        if (value.Length > maxLength)
        {
            return false;
        }
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '+')
            {
                if (i + 2 >= value.Length || !char.IsAsciiHexDigitUpper(value[i + 1]) || !char.IsAsciiHexDigitUpper(value[i + 2]))
                {
                    return false;
                }
                i += 2;
            }
            else if (c is < '!' or > '~' or '=')
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>NOTIFY=NEVER, or a comma list of SUCCESS, FAILURE and DELAY (RFC 3461 §4.1).</summary>
    public static bool IsNotify(string value)
    {
        var items = value.Split(',');
        return items.Length == 1 && items[0].Equals("NEVER", StringComparison.OrdinalIgnoreCase)
            || items.All(item => item.ToUpperInvariant() is "SUCCESS" or "FAILURE" or "DELAY");
    }

    /// <summary>ORCPT=addr-type;xtext (RFC 3461 §4.2), e.g. <c>rfc822;user@example.com</c>.</summary>
    public static bool IsOriginalRecipient(string value)
    {
        var semicolon = value.IndexOf(';');
        return semicolon > 0 && value[..semicolon].All(c => char.IsAsciiLetterOrDigit(c) || c == '-')
            && IsXtext(value[(semicolon + 1)..]);
    }
}
