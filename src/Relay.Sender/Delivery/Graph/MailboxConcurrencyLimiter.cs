using Microsoft.Extensions.Options;
using Relay.Sender.Submission;

namespace Relay.Sender.Delivery.Graph;

/// <summary>
/// At most <c>Graph:MaxConcurrencyPerMailbox</c> Graph requests in flight per mailbox, across every message Relay is
/// sending: Outlook allows 4 concurrent requests per app and mailbox and answers the fifth with 429 (graph-facts §3).
/// <list type="bullet">
/// <item>Mailboxes are compared case-insensitively, as Exchange compares them.</item>
/// <item>A slot is taken per request, not per message: a message that needs several requests (a draft, its uploads,
/// the send) takes one for each, and holds none while it waits to retry.</item>
/// <item>A mailbox has an entry only while a request holds or waits for one of its slots, so memory follows what is in
/// flight, never how many mailboxes were ever seen.</item>
/// <item>Waiters are served in order of arrival.</item>
/// </list>
/// </summary>
public sealed class MailboxConcurrencyLimiter
{
    private readonly Dictionary<string, Slots> _mailboxes = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _gate = new();

    public MailboxConcurrencyLimiter(IOptions<GraphOptions> options)
        : this(options.Value.MaxConcurrencyPerMailbox)
    {
    }

    public MailboxConcurrencyLimiter(int permitsPerMailbox)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(permitsPerMailbox, 1);
        PermitsPerMailbox = permitsPerMailbox;
    }

    public int PermitsPerMailbox { get; }

    /// <summary>Mailboxes with a request in flight or waiting.</summary>
    public int ActiveMailboxes
    {
        get
        {
            lock (_gate)
            {
                return _mailboxes.Count;
            }
        }
    }

    /// <summary>
    /// Waits for a slot of <paramref name="mailbox"/>; disposing the lease gives it back. Cancelling
    /// <paramref name="cancellationToken"/> while waiting gives up the place in the queue and throws
    /// <see cref="OperationCanceledException"/>.
    /// </summary>
    public async ValueTask<IDisposable> AcquireAsync(string mailbox, CancellationToken cancellationToken)
    {
        Slots slots;
        lock (_gate)
        {
            if (!_mailboxes.TryGetValue(mailbox, out slots!))
            {
                slots = new Slots(PermitsPerMailbox);
                _mailboxes.Add(mailbox, slots);
            }
            slots.Users++;
        }
        var acquired = false;
        try
        {
            if (!slots.Semaphore.Wait(0))
            {
                SenderTelemetry.GraphMailboxWaits.Add(1);
                await slots.Semaphore.WaitAsync(cancellationToken);
            }
            acquired = true;
            // No mailbox label (unbounded): how busy the mailbox is, as a distribution, and the total in flight.
            SenderTelemetry.GraphMailboxInFlight.Record(PermitsPerMailbox - slots.Semaphore.CurrentCount);
            SenderTelemetry.GraphRequestsInFlight.Add(1);
            return new Lease(this, mailbox, slots);
        }
        finally
        {
            if (!acquired)
            {
                Leave(mailbox, slots);
            }
        }
    }

    /// <summary>One user fewer; the last one removes the mailbox's entry.</summary>
    private void Leave(string mailbox, Slots slots)
    {
        lock (_gate)
        {
            if (--slots.Users == 0)
            {
                _mailboxes.Remove(mailbox);
            }
        }
    }

    /// <param name="permits">The semaphore's count; its wait handle is never used, so it needs no disposing.</param>
    private sealed class Slots(int permits)
    {
        public SemaphoreSlim Semaphore { get; } = new(permits, permits);

        /// <summary>Requests holding or waiting for a slot; changed under the limiter's lock.</summary>
        public int Users;
    }

    private sealed class Lease(MailboxConcurrencyLimiter limiter, string mailbox, Slots slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Semaphore.Release();
                SenderTelemetry.GraphRequestsInFlight.Add(-1);
                limiter.Leave(mailbox, slots);
            }
        }
    }
}
