namespace Relay.Testing;

/// <summary>A Graph error the fake returns instead of accepting a sendMail request.</summary>
/// <param name="StatusCode">The HTTP status code.</param>
/// <param name="Code">The <c>error.code</c> of the Graph error body.</param>
/// <param name="Message">The <c>error.message</c> of the Graph error body.</param>
/// <param name="RetryAfter">When set, sent as a <c>Retry-After</c> header in whole seconds (rounded up).</param>
public sealed record GraphFault(int StatusCode, string Code, string Message, TimeSpan? RetryAfter = null)
{
    /// <summary>503 <c>ErrorServerBusy</c>, optionally with a <c>Retry-After</c> header.</summary>
    public static GraphFault ServiceUnavailable(TimeSpan? retryAfter = null) =>
        new(503, "ErrorServerBusy", "The server cannot service this request right now. Try again later.", retryAfter);

    /// <summary>429 <c>ApplicationThrottled</c> with a <c>Retry-After</c> header, as Outlook answers when a mailbox limit is exceeded.</summary>
    public static GraphFault Throttled(TimeSpan retryAfter) =>
        new(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", retryAfter);

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
}
