using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Relay.Testing;

/// <summary>Writes a <see cref="GraphFault"/> as Graph does: <c>{"error":{"code","message","innerError":{...}}}</c>.</summary>
internal sealed class GraphErrorResult(GraphFault fault) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext)
    {
        var innerError = new JsonObject
        {
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture),
            ["request-id"] = GraphRequestIds.RequestId(httpContext),
        };
        if (GraphRequestIds.ClientRequestId(httpContext) is { } clientRequestId)
        {
            innerError["client-request-id"] = clientRequestId;
        }

        var body = new JsonObject
        {
            ["error"] = new JsonObject { ["code"] = fault.Code, ["message"] = fault.Message, ["innerError"] = innerError },
        };

        httpContext.Response.StatusCode = fault.StatusCode;
        if (fault.RetryAfter is { } retryAfter)
        {
            var seconds = (long)Math.Ceiling(retryAfter.TotalSeconds);
            httpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        return httpContext.Response.WriteAsJsonAsync(body, httpContext.RequestAborted);
    }
}
