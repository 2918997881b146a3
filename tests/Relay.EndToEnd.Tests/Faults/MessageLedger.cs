using System.Collections.Concurrent;
using System.Text;
using MimeKit;
using Xunit.Abstractions;

namespace Relay.EndToEnd.Tests.Faults;

/// <summary>What one attempt to send a message came to, as the SMTP client saw it.</summary>
/// <param name="Code">The reply code that settled it: 250 for accepted, 4xx/5xx for refused, 0 for no reply (dropped).</param>
/// <param name="Reply">The reply text, or what the client saw instead of one.</param>
internal readonly record struct Attempt(int Code, string Reply)
{
    public bool Accepted => Code is >= 200 and < 300;

    public string Kind => Code == 0 ? "dropped" : Code.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// The accounting invariant of the fault suite: every message sent is delivered or rejected with a code, never both
/// silently, never neither. Each message has a unique Message-ID; each attempt to send it is recorded with what the
/// client heard; <see cref="Settle"/> compares that with what reached the mail store (fake Graph or pickup folder).
/// </summary>
/// <remarks>
/// A message is:
/// <list type="bullet">
/// <item><b>delivered</b> when its last attempt got 250: it must then be in the store at least once, and exactly once
/// unless an earlier attempt was refused with 4xx or dropped and that attempt "may have been sent" (below), in which
/// case the client did what SMTP asks (RFC 5321 §4.1.1.4, §6.1: a 4xx leaves the message with the client, which sends
/// again) and the copy is the price of never losing mail. It counts as one message delivered.</item>
/// <item><b>rejected with a code</b> when its last attempt got a 4xx or 5xx reply, or the connection was lost (or never
/// made) before the final reply: the client still holds the message. It must then not be in the store — except that a
/// 4xx or a drop may come after Microsoft 365 accepted it when the answer was lost on its way back (Relay.Sender killed
/// while Graph worked, a Graph stall past <c>Graph:RequestTimeout</c>). That is the "may have been sent" case, and it is
/// allowed only when the scenario shows evidence for that one message (the request reached Graph before the kill, Relay
/// logged the warning); it still counts as rejected, because the client was told to keep it. A 5xx is never allowed to
/// be delivered: the client bounces the mail.</item>
/// </list>
/// Never allowed: 250 for a message that is not in the store, a message in the store twice without a resend, a message
/// in the store that no client sent.
/// </remarks>
internal sealed class MessageLedger(string scenario)
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Attempt>> _attempts = new(StringComparer.Ordinal);
    private int _sequence;

    public IReadOnlyCollection<string> MessageIds => _attempts.Keys.ToArray();

    /// <summary>A new message with a Message-ID no other message has, entered in the ledger (not yet sent).</summary>
    public MimeMessage NewMessage(string from, string to, string? body = null)
    {
        var number = Interlocked.Increment(ref _sequence);
        var message = SmtpClients.Message(from, to, $"{scenario} #{number}", body ?? $"Fault scenario {scenario}, message {number}.");
        message.MessageId = $"{scenario}.{number}.{Guid.NewGuid():N}@faults.relay.test";
        _attempts.TryAdd(message.MessageId, new ConcurrentQueue<Attempt>());
        return message;
    }

    public void Record(string messageId, Attempt attempt) => _attempts[messageId].Enqueue(attempt);

    /// <summary>The last attempt of each message, in no particular order.</summary>
    public IReadOnlyDictionary<string, Attempt> Latest() =>
        _attempts.Where(entry => !entry.Value.IsEmpty).ToDictionary(entry => entry.Key, entry => entry.Value.Last());

    /// <summary>The messages whose last attempt was refused or dropped: what a client would send again.</summary>
    public IReadOnlyList<string> Refused() => [.. Latest().Where(entry => !entry.Value.Accepted).Select(entry => entry.Key)];

    /// <summary>
    /// Checks every message against the store and asserts the invariant; prints the tally. Returns it for the scenario's
    /// own assertions.
    /// </summary>
    /// <param name="delivered">The Message-ID of every message in the store, once per copy.</param>
    /// <param name="mayHaveBeenSent">The scenario's evidence that a refused or dropped attempt of this message reached Graph; null: never.</param>
    public Tally Settle(IEnumerable<string?> delivered, ITestOutputHelper output, Func<string, bool>? mayHaveBeenSent = null)
    {
        var copies = delivered.GroupBy(id => id ?? "(no Message-ID)").ToDictionary(group => group.Key, group => group.Count());
        var violations = new List<string>();
        var tally = new Tally(scenario);
        foreach (var (messageId, queue) in _attempts)
        {
            var attempts = queue.ToArray();
            if (attempts.Length == 0)
            {
                violations.Add($"{messageId}: never sent (the scenario lost track of it)");
                continue;
            }
            var found = copies.GetValueOrDefault(messageId);
            var last = attempts[^1];
            var refusedAttempts = attempts.Count(attempt => !attempt.Accepted);
            var maybeSent = refusedAttempts > 0 && mayHaveBeenSent?.Invoke(messageId) == true
                && attempts.Where(attempt => !attempt.Accepted).All(attempt => attempt.Code is 0 or (>= 400 and < 500));
            tally.Sent++;
            if (last.Accepted)
            {
                tally.Delivered++;
                if (found == 0)
                {
                    violations.Add($"{messageId}: 250 but not delivered ({Describe(attempts)})");
                }
                else if (found > 1 && !(maybeSent && found <= 1 + refusedAttempts))
                {
                    violations.Add($"{messageId}: delivered {found} times ({Describe(attempts)})");
                }
                else if (found > 1)
                {
                    tally.ResentDuplicates += found - 1;
                }
            }
            else
            {
                tally.Rejected++;
                tally.CountRejection(last.Kind);
                if (found > 0 && !(maybeSent && found <= refusedAttempts))
                {
                    violations.Add($"{messageId}: refused or dropped but delivered {found} times ({Describe(attempts)})");
                }
                else if (found > 0)
                {
                    tally.MayHaveBeenSent++;
                }
            }
        }
        foreach (var stray in copies.Keys.Where(id => !_attempts.ContainsKey(id)))
        {
            violations.Add($"{stray}: delivered, but no client sent it");
        }

        output.WriteLine(tally.ToString());
        Console.WriteLine(tally.ToString());
        Assert.True(violations.Count == 0, $"{tally}\nAccounting violated:\n{string.Join("\n", violations.Take(20))}");
        Assert.Equal(tally.Sent, tally.Delivered + tally.Rejected);
        return tally;
    }

    private static string Describe(IEnumerable<Attempt> attempts) => string.Join(", then ", attempts.Select(attempt => $"{attempt.Kind} {attempt.Reply}"));
}

/// <summary>sent = delivered + rejected-with-code, with the rejections by reply code.</summary>
internal sealed class Tally(string scenario)
{
    public int Sent { get; set; }
    public int Delivered { get; set; }
    public int Rejected { get; set; }

    /// <summary>Rejected messages that Microsoft 365 had accepted when the answer was lost (allowed only with evidence).</summary>
    public int MayHaveBeenSent { get; set; }

    /// <summary>Extra copies of delivered messages, each from a resend after a 4xx that may have been sent.</summary>
    public int ResentDuplicates { get; set; }

    public SortedDictionary<string, int> RejectedBy { get; } = new(StringComparer.Ordinal);

    public void CountRejection(string kind) => RejectedBy[kind] = RejectedBy.GetValueOrDefault(kind) + 1;

    public override string ToString()
    {
        var text = new StringBuilder($"[faults:{FaultProfile.Name}] {scenario}: sent {Sent} = delivered {Delivered} + rejected-with-code {Rejected}");
        if (RejectedBy.Count > 0)
        {
            text.Append(" (").AppendJoin(", ", RejectedBy.Select(entry => $"{entry.Key}: {entry.Value}")).Append(')');
        }
        return text.Append($"; may have been sent {MayHaveBeenSent}; duplicates after resend {ResentDuplicates}").ToString();
    }
}
