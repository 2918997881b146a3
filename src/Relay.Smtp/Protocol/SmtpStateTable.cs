using System.Collections.Frozen;

namespace Relay.Smtp.Protocol;

public enum SmtpState
{
    /// <summary>Greeting sent, no EHLO/HELO yet.</summary>
    Connected,
    /// <summary>EHLO/HELO done, no transaction.</summary>
    Greeted,
    /// <summary>MAIL accepted.</summary>
    MailGiven,
    /// <summary>At least one RCPT accepted.</summary>
    RecipientGiven,
    /// <summary>BDAT chunks under way (RFC 3030): only more BDAT, or RSET.</summary>
    Chunking,
}

/// <summary>
/// The SMTP state machine as data (RFC 5321 §4.1.4): per state, the verbs allowed and the state each leads to
/// when it succeeds (<c>null</c>: unchanged). The "expected …" text of a 503 reply is generated from the same rows.
/// </summary>
public static class SmtpStateTable
{
    public sealed record Row(FrozenDictionary<string, SmtpState?> Transitions, string[] Expected)
    {
        public string ExpectedText => "expected " + string.Join(" or ", Expected);
    }

    private static readonly Dictionary<string, SmtpState?> Anytime = new()
    {
        ["EHLO"] = SmtpState.Greeted,
        ["HELO"] = SmtpState.Greeted,
        ["NOOP"] = null,
        ["HELP"] = null,
        ["VRFY"] = null,
        ["QUIT"] = null,
    };

    private static readonly FrozenDictionary<SmtpState, Row> Rows = new Dictionary<SmtpState, Row>
    {
        [SmtpState.Connected] = Build(["EHLO", "HELO"], ("RSET", null)),
        [SmtpState.Greeted] = Build(["MAIL"],
            ("RSET", null), ("STARTTLS", SmtpState.Connected), ("AUTH", null), ("MAIL", SmtpState.MailGiven)),
        [SmtpState.MailGiven] = Build(["RCPT"], ("RSET", SmtpState.Greeted), ("RCPT", SmtpState.RecipientGiven)),
        [SmtpState.RecipientGiven] = Build(["RCPT", "DATA", "BDAT"],
            ("RSET", SmtpState.Greeted), ("RCPT", null), ("DATA", SmtpState.Greeted), ("BDAT", SmtpState.Chunking)),
        [SmtpState.Chunking] = Build(["BDAT"], ("RSET", SmtpState.Greeted), ("BDAT", SmtpState.Chunking)),
    }.ToFrozenDictionary();

    public static Row For(SmtpState state) => Rows[state];

    /// <summary>Whether <paramref name="verb"/> may be used in <paramref name="state"/>, and where it leads.</summary>
    public static bool TryGetTransition(SmtpState state, string verb, out SmtpState next)
    {
        next = state;
        if (!Rows[state].Transitions.TryGetValue(verb, out var target))
        {
            return false;
        }
        next = target ?? state;
        return true;
    }

    private static Row Build(string[] expected, params (string Verb, SmtpState? Next)[] transitions)
    {
        var all = new Dictionary<string, SmtpState?>(Anytime);
        foreach (var (verb, next) in transitions)
        {
            all[verb] = next;
        }
        return new Row(all.ToFrozenDictionary(), expected);
    }
}
