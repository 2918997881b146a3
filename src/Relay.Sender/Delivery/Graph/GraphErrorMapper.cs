using Relay.Contracts;

namespace Relay.Sender.Delivery.Graph;

/// <summary>
/// Graph outcomes as SMTP replies (DESIGN.md). Anything that may succeed later is 4xx so the client retries;
/// only what will never succeed is 5xx. Branches on the error code, never on the message text.
/// </summary>
public static class GraphErrorMapper
{
    public static SmtpReply Map(int status, string? code) => ForCode(code) ?? ForStatus(status, code);

    /// <summary>
    /// The reply a Graph error code calls for whatever the status, or null for a code Relay does not know. A known code
    /// says what Graph did: nothing, for the reason it names.
    /// </summary>
    public static SmtpReply? ForCode(string? code) => code switch
    {
        "ErrorSendAsDenied" =>
            Replies.Create(550, "5.7.1", "Microsoft 365 refused: this app may not send as that mailbox (ErrorSendAsDenied)"),
        "ErrorAccessDenied" =>
            Replies.Create(550, "5.7.1", "Microsoft 365 denied access to the mailbox (ErrorAccessDenied): check Mail.Send consent and access policies"),
        "ErrorInvalidRecipients" or "ErrorMissingRecipients" =>
            Replies.Create(550, "5.1.1", $"Microsoft 365 refused the recipients ({code})"),
        "ErrorMimeContentInvalid" or "ErrorMimeContentInvalidBase64String" =>
            Replies.Create(554, "5.6.0", $"Microsoft 365 could not parse the message ({code})"),
        "ErrorMessageSizeExceeded" => TooLarge,
        "ErrorQuotaExceeded" =>
            Replies.Create(452, "4.2.2", "Sending mailbox is full; try again later"),
        "ErrorSubmissionQuotaExceeded" =>
            Replies.Create(452, "4.5.3", "Sending mailbox has reached its daily sending limit; try again later"),
        "MailboxNotEnabledForRESTAPI" or "ErrorNonExistentMailbox" or "ResourceNotFound" => NoSuchMailbox(code),
        _ => null,
    };

    private static SmtpReply ForStatus(int status, string? code) => status switch
    {
        413 => TooLarge,
        404 => NoSuchMailbox(code ?? "404"),
        401 => Replies.Create(451, "4.7.0", "Microsoft 365 did not accept Relay's credentials; try again later"),
        429 or >= 500 => Replies.Create(451, "4.4.2", $"Microsoft 365 is busy ({status}); try again later"),
        _ => Replies.Create(554, "5.0.0", $"Microsoft 365 refused the message ({code ?? status.ToString(System.Globalization.CultureInfo.InvariantCulture)})"),
    };

    private static SmtpReply TooLarge { get; } = Replies.Create(552, "5.3.4", "Message too large for Microsoft 365");

    private static SmtpReply NoSuchMailbox(string reason) =>
        Replies.Create(550, "5.1.8", $"Sending mailbox does not exist in Microsoft 365 or is not enabled for Graph ({reason})");

    /// <summary>No response at all (network error or timeout): the request may or may not have reached Graph.</summary>
    public static SmtpReply NoResponse { get; } =
        Replies.Create(451, "4.4.2", "No response from Microsoft 365; try again later");

    /// <summary>Graph could not be reached (name resolution, connection refused, TLS handshake) until the retry budget ran out.</summary>
    public static SmtpReply Unreachable { get; } =
        Replies.Create(451, "4.4.2", "Could not reach Microsoft 365; try again later");

    /// <summary>The retry budget ran out while the message waited for one of its mailbox's concurrent-request slots.</summary>
    public static SmtpReply MailboxBusy { get; } =
        Replies.Create(451, "4.3.0", "Too many messages are being sent from this mailbox at once; try again later");

    /// <summary>Relay could not get a token for its own app registration: a configuration or Entra problem, not the client's.</summary>
    public static SmtpReply TokenUnavailable { get; } =
        Replies.Create(454, "4.7.0", "Relay could not sign in to Microsoft 365; try again later");
}
