namespace Relay.Testing;

/// <summary>
/// A Table service error the fake returns instead of the query result:
/// <c>{"odata.error":{"code","message":{"lang":"en-US","value"}}}</c> with the same code in <c>x-ms-error-code</c>.
/// </summary>
/// <param name="StatusCode">The HTTP status code.</param>
/// <param name="Code">The error code (<c>odata.error.code</c> and the <c>x-ms-error-code</c> header).</param>
/// <param name="Message">The error message; the fake appends the <c>RequestId</c> and <c>Time</c> lines as the service does.</param>
public sealed record TableFault(int StatusCode, string Code, string Message)
{
    /// <summary>503 <c>ServerBusy</c>, as the service answers when an account or partition is over its scalability targets.</summary>
    public static TableFault ServerBusy() =>
        new(503, "ServerBusy", "The server is busy.");

    /// <summary>500 <c>InternalError</c>.</summary>
    public static TableFault InternalError() =>
        new(500, "InternalError", "The server encountered an internal error. Please retry the request.");

    /// <summary>403 <c>AuthorizationPermissionMismatch</c>: the identity has no data role (such as Storage Table Data Reader) on the table.</summary>
    public static TableFault AuthorizationPermissionMismatch() =>
        new(403, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission.");
}
