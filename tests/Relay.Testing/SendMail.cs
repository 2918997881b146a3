using System.Text.Json;

namespace Relay.Testing;

/// <summary>The body format of a sendMail request, chosen by its Content-Type.</summary>
public enum SendMailFormat
{
    /// <summary><c>text/plain</c>: a base64-encoded RFC 5322 message.</summary>
    Mime,

    /// <summary><c>application/json</c>: a <c>{"message": {...}}</c> payload.</summary>
    Json,

    /// <summary>
    /// Not sendMail: a draft created with <c>POST /users/{id}/messages</c> (a JSON message resource, or base64 MIME when
    /// <see cref="SentMail.Mime"/> is set), given attachments, and sent with <c>POST /users/{id}/messages/{id}/send</c>.
    /// </summary>
    Draft,
}

/// <summary>An authenticated, well-formed sendMail request, offered to <see cref="FakeMicrosoftCloud.SendMailFault"/> before it is accepted.</summary>
/// <param name="Mailbox">The decoded <c>{id}</c> of <c>/users/{id}/sendMail</c>, or the signed-in user's UPN for <c>/me/sendMail</c>.</param>
/// <param name="Format">The body format.</param>
/// <param name="Mime">The decoded MIME bytes when <paramref name="Format"/> is <see cref="SendMailFormat.Mime"/>.</param>
/// <param name="Json">The request body when <paramref name="Format"/> is <see cref="SendMailFormat.Json"/>.</param>
/// <param name="Attempt">The 1-based count of authenticated, well-formed sendMail requests seen so far for this mailbox (compared case-insensitively), this one included.</param>
public sealed record SendMailRequest(string Mailbox, SendMailFormat Format, byte[]? Mime, JsonElement? Json, int Attempt)
{
    /// <summary>
    /// Who sent it: the signed-in user's UPN for a delegated token, the client ID (of the app or managed identity) for an
    /// app-only token. Empty only when the record was built by hand.
    /// </summary>
    public string Principal { get; init; } = string.Empty;

    /// <summary>Whether the token was delegated (a signed-in user's) rather than app-only.</summary>
    public bool IsDelegated { get; init; }
}

/// <summary>A sendMail request, or a draft's send, that the fake accepted with <c>202 Accepted</c>.</summary>
/// <param name="Mailbox">
/// The decoded <c>{id}</c> of <c>/users/{id}/sendMail</c> (or of <c>/users/{id}/messages/{id}/send</c>), or the signed-in
/// user's UPN for <c>/me/…</c>.
/// </param>
/// <param name="Format">The body format, or <see cref="SendMailFormat.Draft"/> for a sent draft.</param>
/// <param name="Mime">
/// The decoded MIME bytes when <paramref name="Format"/> is <see cref="SendMailFormat.Mime"/>, or for a draft created from
/// MIME.
/// </param>
/// <param name="Json">
/// The request body when <paramref name="Format"/> is <see cref="SendMailFormat.Json"/>; for a draft created from JSON,
/// the message resource exactly as posted to <c>/messages</c> (keys in the client's case).
/// </param>
/// <param name="BearerToken">The access token the request was authorized with.</param>
/// <param name="RequestId">The <c>request-id</c> response header the fake returned.</param>
public sealed record SentMail(string Mailbox, SendMailFormat Format, byte[]? Mime, JsonElement? Json, string BearerToken, string RequestId)
{
    /// <summary>The draft's ID for a <see cref="SendMailFormat.Draft"/>, otherwise null.</summary>
    public string? MessageId { get; init; }

    /// <summary>
    /// A sent draft's file attachments, in the order they were completed (uploads in progress at send are not part of the
    /// message); empty for sendMail, whose attachments are inside the MIME or JSON.
    /// </summary>
    public IReadOnlyList<MailAttachment> Attachments { get; init; } = [];

    /// <summary>
    /// Who sent it: the signed-in user's UPN for a delegated token, the client ID (of the app or managed identity) for an
    /// app-only token. Empty only when the record was built by hand.
    /// </summary>
    public string Principal { get; init; } = string.Empty;

    /// <summary>Whether the token was delegated (a signed-in user's) rather than app-only.</summary>
    public bool IsDelegated { get; init; }
}

/// <summary>A file attachment of a draft.</summary>
/// <param name="Id">The attachment's ID.</param>
/// <param name="Name">The <c>name</c>.</param>
/// <param name="ContentType">The <c>contentType</c>; <c>application/octet-stream</c> when the client gave none.</param>
/// <param name="Content">The decoded bytes.</param>
/// <param name="IsInline">The <c>isInline</c> flag.</param>
/// <param name="ContentId">The <c>contentId</c> an inline attachment is referenced by (<c>cid:…</c>), or null.</param>
public sealed record MailAttachment(string Id, string Name, string ContentType, byte[] Content, bool IsInline, string? ContentId)
{
    /// <summary>Whether it came through an upload session (<c>createUploadSession</c> and PUTs) rather than one POST with <c>contentBytes</c>.</summary>
    public bool Uploaded { get; init; }
}

/// <summary>A draft created with <c>POST /users/{id}/messages</c> that has been neither sent nor deleted.</summary>
/// <param name="Mailbox">The decoded <c>{id}</c> it was created under, or the signed-in user's UPN for <c>/me/messages</c>.</param>
/// <param name="MessageId">Its ID.</param>
/// <param name="Json">The message resource as posted, for a JSON draft.</param>
/// <param name="Mime">The decoded MIME, for a draft created from base64 MIME.</param>
/// <param name="Attachments">The attachments completed so far.</param>
public sealed record MailDraft(string Mailbox, string MessageId, JsonElement? Json, byte[]? Mime, IReadOnlyList<MailAttachment> Attachments)
{
    /// <summary>Who created it: a delegated token's UPN, or an app-only token's client ID.</summary>
    public string Principal { get; init; } = string.Empty;

    /// <summary>How many upload sessions for it are still open (created, neither completed nor deleted).</summary>
    public int OpenUploadSessions { get; init; }
}
