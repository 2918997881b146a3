using Microsoft.AspNetCore.Http;

namespace Relay.Testing;

/// <summary>The correlation headers Graph puts on every response.</summary>
internal static class GraphRequestIds
{
    public const string RequestIdHeader = "request-id";
    public const string ClientRequestIdHeader = "client-request-id";

    /// <summary>Middleware: a new <c>request-id</c> per response, and the caller's <c>client-request-id</c> echoed.</summary>
    public static Task AssignAsync(HttpContext context, RequestDelegate next)
    {
        context.Response.Headers[RequestIdHeader] = Guid.NewGuid().ToString();
        if (ClientRequestId(context) is { } clientRequestId)
        {
            context.Response.Headers[ClientRequestIdHeader] = clientRequestId;
        }

        return next(context);
    }

    public static string RequestId(HttpContext context) => context.Response.Headers[RequestIdHeader].ToString();

    public static string? ClientRequestId(HttpContext context) =>
        context.Request.Headers.TryGetValue(ClientRequestIdHeader, out var value) ? value.ToString() : null;
}
