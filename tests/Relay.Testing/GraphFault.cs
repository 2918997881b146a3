namespace Relay.Testing;

/// <summary>
/// What the fake does instead of answering a Graph request normally: usually a Graph error
/// (<c>{"error":{"code","message","innerError"}}</c> with <see cref="StatusCode"/>, and <c>Retry-After</c> when
/// <see cref="RetryAfter"/> is set); optionally after a <see cref="Delay"/>, or a dropped connection instead of any answer.
/// </summary>
/// <remarks>
/// Messages are the real service's where they are known (Microsoft docs or widely reported responses); where they are
/// not, the factory's documentation says so. Clients must branch on <see cref="Code"/>, never on <see cref="Message"/>.
/// </remarks>
/// <param name="StatusCode">The HTTP status code. Unused when <see cref="Proceeds"/> or <see cref="DropsConnection"/> is set.</param>
/// <param name="Code">The <c>error.code</c> of the Graph error body.</param>
/// <param name="Message">The <c>error.message</c> of the Graph error body.</param>
/// <param name="RetryAfter">When set, sent as a <c>Retry-After</c> header in whole seconds (rounded up).</param>
public sealed record GraphFault(int StatusCode, string Code, string Message, TimeSpan? RetryAfter = null)
{
    /// <summary>
    /// How long the fake waits before it answers, proceeds or drops the connection. The wait happens inside the mailbox's
    /// concurrency window (the request keeps its slot, as a slow Exchange request does) and is not cut short when the
    /// client gives up: only stopping the fake ends it.
    /// </summary>
    public TimeSpan Delay { get; init; }

    /// <summary>
    /// Whether the request is then handled as if there were no fault: its effects happen (the mail is accepted, the draft
    /// created, the chunk stored) and its normal answer is sent, unless <see cref="DropsConnection"/> is also set.
    /// </summary>
    public bool Proceeds { get; init; }

    /// <summary>
    /// Whether the fake drops the connection (HTTP/1.1: the TCP connection is reset; HTTP/2: the stream) instead of
    /// answering. With <see cref="Proceeds"/> the request is handled first, so the client cannot know that it succeeded.
    /// </summary>
    public bool DropsConnection { get; init; }

    /// <summary>503 <c>ErrorServerBusy</c>, optionally with a <c>Retry-After</c> header.</summary>
    public static GraphFault ServiceUnavailable(TimeSpan? retryAfter = null) =>
        new(503, "ErrorServerBusy", "The server cannot service this request right now. Try again later.", retryAfter);

    /// <summary>429 <c>ApplicationThrottled</c> with a <c>Retry-After</c> header, as Outlook answers when a mailbox limit is exceeded.</summary>
    public static GraphFault Throttled(TimeSpan retryAfter) =>
        new(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", retryAfter);

    /// <summary>
    /// 504 <c>GatewayTimeout</c>, optionally with a <c>Retry-After</c> header. Graph documents the status (retryable, "may
    /// occur together with 503") but no body for it; the code and message here are the fake's.
    /// </summary>
    public static GraphFault GatewayTimeout(TimeSpan? retryAfter = null) =>
        new(504, "GatewayTimeout", "The gateway did not receive a timely response from the upstream server.", retryAfter);

    /// <summary>
    /// 500 <c>ErrorInternalServerTransientError</c>, optionally with a <c>Retry-After</c> header. The code is Exchange's;
    /// the message is the fake's.
    /// </summary>
    public static GraphFault InternalServerError(TimeSpan? retryAfter = null) =>
        new(500, "ErrorInternalServerTransientError", "An internal server error occurred. The operation failed, please try again later.", retryAfter);

    /// <summary>403 <c>ErrorSendAsDenied</c>: the From address is not the URL mailbox and no Send As right exists.</summary>
    public static GraphFault SendAsDenied() =>
        new(403, "ErrorSendAsDenied", "The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account. Cannot submit message.");

    /// <summary>400 <c>ErrorInvalidRecipients</c>.</summary>
    public static GraphFault InvalidRecipients() =>
        new(400, "ErrorInvalidRecipients", "At least one recipient isn't valid., A message can't be sent because it contains no recipients.");

    /// <summary>400 <c>ErrorMimeContentInvalid</c>: the base64 decoded, but Exchange could not parse the MIME.</summary>
    public static GraphFault MimeContentInvalid() =>
        new(400, "ErrorMimeContentInvalid", "The MIME content is not valid.");

    /// <summary>403 <c>ErrorAccessDenied</c> as returned when an application access policy excludes the mailbox.</summary>
    public static GraphFault AccessDenied() =>
        new(403, "ErrorAccessDenied", "Access to OData is disabled.");

    /// <summary>
    /// 404 <c>MailboxNotEnabledForRESTAPI</c>: the user has no Exchange Online mailbox (no license, a guest, an inactive,
    /// soft-deleted or on-premises mailbox).
    /// </summary>
    public static GraphFault MailboxNotEnabledForRestApi() =>
        new(404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.");

    /// <summary>
    /// 400 <c>ErrorMessageSizeExceeded</c>: the message is larger than the tenant's limit (35 MB by default). The status is
    /// Exchange's; the message is the fake's.
    /// </summary>
    public static GraphFault MessageSizeExceeded() =>
        new(400, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.");

    /// <summary>413 <c>RequestEntityTooLarge</c>: one request's body is over Graph's 4 MB limit.</summary>
    public static GraphFault RequestTooLarge() =>
        new(413, "RequestEntityTooLarge", "The maximum request length supported is 4MB.");

    /// <summary>400 <c>ErrorQuotaExceeded</c>: the sending mailbox is full.</summary>
    public static GraphFault QuotaExceeded() =>
        new(400, "ErrorQuotaExceeded", "Mailbox has exceeded maximum mailbox size.");

    /// <summary>
    /// 500 <c>ErrorSubmissionQuotaExceeded</c>: the mailbox has reached its daily sending (recipient) limit. The status is
    /// from an unofficial mapping of Exchange's codes; the message is the fake's.
    /// </summary>
    public static GraphFault SubmissionQuotaExceeded() =>
        new(500, "ErrorSubmissionQuotaExceeded", "Cannot submit message. The sending quota for this mailbox has been exceeded.");

    /// <summary>
    /// Answers normally, but only after <paramref name="delay"/>: a slow Graph. The request keeps its concurrency slot and
    /// its effects happen even when the client gave up waiting.
    /// </summary>
    /// <param name="delay">How long to wait first.</param>
    public static GraphFault Stall(TimeSpan delay) => new(0, string.Empty, string.Empty) { Delay = delay, Proceeds = true };

    /// <summary>Drops the connection without handling the request: nothing happened, and the client gets no answer.</summary>
    public static GraphFault DropConnection() => new(0, string.Empty, string.Empty) { DropsConnection = true };

    /// <summary>
    /// Handles the request (the mail is accepted, the chunk stored, …), then drops the connection instead of answering:
    /// the client sees a network failure for a request that succeeded.
    /// </summary>
    public static GraphFault DropConnectionAfterHandling() =>
        new(0, string.Empty, string.Empty) { Proceeds = true, DropsConnection = true };
}
