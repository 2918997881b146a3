namespace Relay.Testing;

/// <summary>One HTTP request the fake received, with the status code it answered.</summary>
/// <param name="Method">The HTTP method, for example <c>POST</c>.</param>
/// <param name="Path">The decoded request path, for example <c>/v1.0/users/a@contoso.com/sendMail</c>.</param>
/// <param name="Query">The query string including the leading <c>?</c>, or an empty string.</param>
/// <param name="Headers">The request headers, keyed case-insensitively; repeated headers are joined with <c>", "</c>.</param>
/// <param name="Body">The complete request body.</param>
/// <param name="StatusCode">
/// The status code the fake responded with, or 0 when no response reached the client: the fake dropped the connection
/// (<see cref="GraphFault.DropsConnection"/>) or the client went away first.
/// </param>
public sealed record RecordedRequest(
    string Method,
    string Path,
    string Query,
    IReadOnlyDictionary<string, string> Headers,
    byte[] Body,
    int StatusCode)
{
    /// <summary>When the request's headers reached the fake (before its body was read).</summary>
    public DateTimeOffset ReceivedAt { get; init; }

    /// <summary>When the fake finished with it: the response was written, or the connection dropped.</summary>
    public DateTimeOffset CompletedAt { get; init; }

    /// <summary>The <c>Host</c> the request was sent to, without the port: <c>127.0.0.1</c>, or <c>localhost</c> (upload URLs).</summary>
    public string Host { get; init; } = string.Empty;
}
