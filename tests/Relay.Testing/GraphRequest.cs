namespace Relay.Testing;

/// <summary>The Graph mail operations the fake serves, each offered to <see cref="FakeMicrosoftCloud.GraphFault"/>.</summary>
public enum GraphOperation
{
    /// <summary><c>POST /users/{id}/sendMail</c> or <c>/me/sendMail</c>.</summary>
    SendMail,

    /// <summary><c>POST /users/{id}/messages</c>: create a draft.</summary>
    CreateMessage,

    /// <summary><c>POST /users/{id}/messages/{id}/attachments</c>: add a file attachment in one request.</summary>
    CreateAttachment,

    /// <summary><c>POST /users/{id}/messages/{id}/attachments/createUploadSession</c>.</summary>
    CreateUploadSession,

    /// <summary><c>PUT {uploadUrl}</c>: one chunk of an upload session.</summary>
    UploadChunk,

    /// <summary><c>DELETE {uploadUrl}</c>: cancel an upload session.</summary>
    DeleteUploadSession,

    /// <summary><c>POST /users/{id}/messages/{id}/send</c>: send a draft.</summary>
    Send,

    /// <summary><c>DELETE /users/{id}/messages/{id}</c>: delete a draft.</summary>
    DeleteMessage,
}

/// <summary>
/// An authenticated Graph mail request the fake is about to handle, offered to <see cref="FakeMicrosoftCloud.GraphFault"/>
/// inside the mailbox's concurrency window (after <see cref="FakeMicrosoftCloud.GraphLatency"/>) and before its body is
/// validated.
/// </summary>
/// <param name="Operation">What the request does.</param>
/// <param name="Mailbox">
/// The decoded <c>{id}</c> of <c>/users/{id}/…</c>, or the signed-in user's UPN for <c>/me/…</c>; for an upload chunk,
/// the mailbox the session was created for.
/// </param>
/// <param name="MessageId">The draft's ID for operations on a draft, otherwise null.</param>
/// <param name="Attempt">
/// The 1-based count of requests for this operation on this mailbox that reached the hook so far, this one included. A
/// mailbox addressed by UPN (in any case) or by the user's object ID counts as one.
/// </param>
public sealed record GraphRequest(GraphOperation Operation, string Mailbox, string? MessageId, int Attempt)
{
    /// <summary>
    /// Who sent it: the signed-in user's UPN for a delegated token, the client ID (of the app or managed identity) for an
    /// app-only token; for an upload chunk, whoever created the session.
    /// </summary>
    public string Principal { get; init; } = string.Empty;

    /// <summary>Whether the token was delegated (a signed-in user's) rather than app-only.</summary>
    public bool IsDelegated { get; init; }

    /// <summary>When the request reached the fake.</summary>
    public DateTimeOffset ReceivedAt { get; init; }
}
