namespace Relay.Testing;

/// <summary>
/// Outlook's concurrency limit: at most <see cref="Limit"/> requests in flight per app and mailbox (Graph's documented
/// limit is 4), with peaks recorded per mailbox (all apps together) and over all mailboxes. Mailbox keys are compared
/// case-insensitively; callers pass the canonical key (the UPN when the user is known).
/// </summary>
internal sealed class MailboxConcurrency
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _inFlightByAppAndMailbox = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, int> _inFlightByMailbox = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, int> _peakByMailbox = new(StringComparer.OrdinalIgnoreCase);
    private int _inFlight;
    private int _peak;

    public int Limit
    {
        get => Volatile.Read(ref field);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Volatile.Write(ref field, value);
        }
    } = 4;

    public int Peak
    {
        get
        {
            lock (_gate)
            {
                return _peak;
            }
        }
    }

    public int PeakFor(string mailbox)
    {
        lock (_gate)
        {
            return _peakByMailbox.GetValueOrDefault(mailbox);
        }
    }

    /// <summary>Takes a slot for one request, or returns null when the app already has <see cref="Limit"/> requests in flight for the mailbox.</summary>
    public IDisposable? TryEnter(string clientId, string mailbox)
    {
        var key = clientId + "\n" + mailbox;
        lock (_gate)
        {
            var forApp = _inFlightByAppAndMailbox.GetValueOrDefault(key);
            if (forApp >= Limit)
            {
                return null;
            }

            _inFlightByAppAndMailbox[key] = forApp + 1;
            var forMailbox = _inFlightByMailbox.GetValueOrDefault(mailbox) + 1;
            _inFlightByMailbox[mailbox] = forMailbox;
            _peakByMailbox[mailbox] = Math.Max(_peakByMailbox.GetValueOrDefault(mailbox), forMailbox);
            _inFlight++;
            _peak = Math.Max(_peak, _inFlight);
        }

        return new Slot(this, key, mailbox);
    }

    private void Leave(string key, string mailbox)
    {
        lock (_gate)
        {
            Decrement(_inFlightByAppAndMailbox, key);
            Decrement(_inFlightByMailbox, mailbox);
            _inFlight--;
        }
    }

    private static void Decrement(Dictionary<string, int> counts, string key)
    {
        var count = counts[key] - 1;
        if (count == 0)
        {
            counts.Remove(key);
        }
        else
        {
            counts[key] = count;
        }
    }

    private sealed class Slot(MailboxConcurrency owner, string key, string mailbox) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Leave(key, mailbox);
            }
        }
    }
}
