namespace Relay.Testing;

// Graph mail beyond sendMail (see MessagesEndpoint) and what applies to all of it (see GraphPipeline): Outlook's
// per-mailbox concurrency limit, simulated latency, the fault hook, and the large-message path's limits.
public sealed partial class FakeMicrosoftCloud
{
    private readonly GraphPipeline _graph;
    private readonly MailStore _mail;
    private readonly MessagesEndpoint _messages;

    /// <summary>
    /// How many requests one app may have in flight for one mailbox: Outlook's limit is 4 (per app ID and mailbox; other
    /// mailboxes, and other apps, are not affected). One more is refused at once with 429 <c>ApplicationThrottled</c>
    /// ("Application is over its MailboxConcurrency limit.") and a <c>Retry-After</c> of <see cref="ThrottleRetryAfter"/>.
    /// Every Graph mail request counts: sendMail, drafts, attachments, upload sessions, upload chunks and send. A mailbox
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
    /// The largest message a draft may become, counted roughly as Exchange does: the body of the request that created the
    /// draft plus each attachment base64-encoded (so about 26 MB of raw attachments fit in the default). Attachments,
    /// upload sessions or a send beyond it are refused with 400 <c>ErrorMessageSizeExceeded</c>. Defaults to 35 MiB,
    /// Exchange Online's default.
    /// </summary>
    public long MessageSizeLimit
    {
        get => _mail.MessageSizeLimit;
        set => _mail.MessageSizeLimit = value;
    }

    /// <summary>
    /// The smallest attachment an upload session accepts: Outlook refuses smaller ones with 400
    /// <c>ErrorAttachmentSizeShouldNotBeLessThanMinimumSize</c> ("3 MB" in its docs, read here as 3,000,000 bytes).
    /// </summary>
    public long UploadSessionMinimumSize
    {
        get => _mail.UploadSessionMinimumSize;
        set => _mail.UploadSessionMinimumSize = value;
    }

    /// <summary>
    /// The host of upload URLs, <c>localhost</c> by default (Outlook's is <c>outlook.office.com</c>): a host that is not
    /// Graph's, which any client on this machine resolves without asking a DNS server.
    /// </summary>
    public string UploadHost
    {
        get => _messages.Host;
        set => _messages.Host = value;
    }

    /// <summary>A snapshot of the drafts created and neither sent nor deleted, in creation order.</summary>
    public IReadOnlyList<MailDraft> Drafts => _mail.Drafts;

    /// <summary>
    /// The most Graph mail requests one mailbox had in flight at once so far, all apps together (an app alone is held to
    /// <see cref="MailboxConcurrencyLimit"/>); refused requests are not counted.
    /// </summary>
    /// <param name="mailbox">A UPN or a registered user's object ID, compared case-insensitively.</param>
    public int PeakConcurrency(string mailbox) => _graph.Concurrency.PeakFor(_graph.MailboxKey(mailbox));

    /// <summary>The most Graph mail requests in flight at once so far, over all mailboxes.</summary>
    public int PeakConcurrency() => _graph.Concurrency.Peak;
}
