using System.Text.Json;

namespace Relay.Testing;

/// <summary>The body format of a sendMail request, chosen by its Content-Type.</summary>
public enum SendMailFormat
{
    /// <summary><c>text/plain</c>: a base64-encoded RFC 5322 message.</summary>
    Mime,

    /// <summary><c>application/json</c>: a <c>{"message": {...}}</c> payload.</summary>
    Json,
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

/// <summary>A sendMail request the fake accepted with <c>202 Accepted</c>.</summary>
/// <param name="Mailbox">The decoded <c>{id}</c> of <c>/users/{id}/sendMail</c>, or the signed-in user's UPN for <c>/me/sendMail</c>.</param>
/// <param name="Format">The body format.</param>
/// <param name="Mime">The decoded MIME bytes when <paramref name="Format"/> is <see cref="SendMailFormat.Mime"/>.</param>
/// <param name="Json">The request body when <paramref name="Format"/> is <see cref="SendMailFormat.Json"/>.</param>
/// <param name="BearerToken">The access token the request was authorized with.</param>
/// <param name="RequestId">The <c>request-id</c> response header the fake returned.</param>
public sealed record SentMail(string Mailbox, SendMailFormat Format, byte[]? Mime, JsonElement? Json, string BearerToken, string RequestId)
{
    /// <summary>
    /// Who sent it: the signed-in user's UPN for a delegated token, the client ID (of the app or managed identity) for an
    /// app-only token. Empty only when the record was built by hand.
    /// </summary>
    public string Principal { get; init; } = string.Empty;

    /// <summary>Whether the token was delegated (a signed-in user's) rather than app-only.</summary>
    public bool IsDelegated { get; init; }
}
