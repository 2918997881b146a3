namespace Relay.Testing;

// What applies to every Graph mail request (see GraphPipeline): Outlook's per-mailbox concurrency limit, simulated
// latency and the fault hook.
public sealed partial class FakeMicrosoftCloud
{
    private readonly GraphPipeline _graph;

    /// <summary>
    /// How many requests one app may have in flight for one mailbox: Outlook's limit is 4 (per app ID and mailbox; other
    /// mailboxes, and other apps, are not affected). One more is refused at once with 429 <c>ApplicationThrottled</c>
    /// ("Application is over its MailboxConcurrency limit.") and a <c>Retry-After</c> of <see cref="ThrottleRetryAfter"/>.
    /// Every Graph mail request counts. A mailbox
    /// addressed by UPN (in any case), by the user's object ID or as <c>/me</c> is one mailbox. At least 1; defaults to 4.
    /// </summary>
    public int MailboxConcurrencyLimit
    {
        get => _graph.Concurrency.Limit;
        set => _graph.Concurrency.Limit = value;
    }

    /// <summary>The <c>Retry-After</c> of a 429 for <see cref="MailboxConcurrencyLimit"/>, sent in whole seconds (rounded up). Defaults to 1 second.</summary>
    public TimeSpan ThrottleRetryAfter
    {
        get => _graph.ThrottleRetryAfter;
        set => _graph.ThrottleRetryAfter = value;
    }

    /// <summary>
    /// How long every Graph mail request takes before it is handled: spent inside the mailbox's concurrency window, so that
    /// concurrent clients really overlap. Not cut short when the client gives up. Defaults to zero.
    /// </summary>
    public TimeSpan GraphLatency
    {
        get => _graph.Latency;
        set => _graph.Latency = value;
    }

    /// <summary>
    /// Called for each authenticated Graph mail request of any <see cref="GraphOperation"/> once it holds a concurrency
    /// slot (after <see cref="GraphLatency"/>), before its body is validated: return null to handle it normally, or a
    /// <see cref="Testing.GraphFault"/> to fail it, stall it or drop its connection. sendMail then still consults
    /// <see cref="SendMailFault"/>. Called on server threads.
    /// </summary>
    public Func<GraphRequest, GraphFault?>? GraphFault
    {
        get => _graph.Fault;
        set => _graph.Fault = value;
    }

    /// <summary>
    /// The most Graph mail requests one mailbox had in flight at once so far, all apps together (an app alone is held to
    /// <see cref="MailboxConcurrencyLimit"/>); refused requests are not counted.
    /// </summary>
    /// <param name="mailbox">A UPN or a registered user's object ID, compared case-insensitively.</param>
    public int PeakConcurrency(string mailbox) => _graph.Concurrency.PeakFor(_graph.MailboxKey(mailbox));

    /// <summary>The most Graph mail requests in flight at once so far, over all mailboxes.</summary>
    public int PeakConcurrency() => _graph.Concurrency.Peak;
}
