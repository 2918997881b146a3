using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Relay.Testing;

/// <summary>
/// An error from Entra's token endpoint, written in its body shape: <c>error</c>, <c>error_description</c> (starting
/// <c>AADSTS{code}: </c> and ending with the trace and correlation IDs and timestamp), <c>error_codes</c>,
/// <c>timestamp</c>, <c>trace_id</c>, <c>correlation_id</c>, <c>error_uri</c>, and <c>suberror</c> and <c>claims</c>
/// when Entra sends them (MSAL reads <c>suberror</c> into <c>MsalUiRequiredException.Classification</c>).
/// </summary>
internal sealed record EntraFault(int StatusCode, string Error, int Code, string Description)
{
    public string? SubError { get; init; }

    public string? Claims { get; init; }

    /// <summary>Extra top-level members, for example <c>password_change_url</c>.</summary>
    public IReadOnlyDictionary<string, string>? Extra { get; init; }

    public static EntraFault MissingParameter(string name) =>
        new(StatusCodes.Status400BadRequest, "invalid_request", 900144, $"The request body must contain the following parameter: '{name}'.");

    public IResult ToResult(HttpContext context)
    {
        var traceId = Guid.NewGuid().ToString();
        var correlationId = Guid.TryParse(GraphRequestIds.ClientRequestId(context), out var clientRequestId)
            ? clientRequestId.ToString()
            : Guid.NewGuid().ToString();
        var timestamp = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var body = new JsonObject
        {
            ["error"] = Error,
            ["error_description"] = $"AADSTS{Code}: {Description}\r\nTrace ID: {traceId}\r\nCorrelation ID: {correlationId}\r\nTimestamp: {timestamp}",
            ["error_codes"] = new JsonArray(Code),
            ["timestamp"] = timestamp,
            ["trace_id"] = traceId,
            ["correlation_id"] = correlationId,
            ["error_uri"] = $"{context.Request.Scheme}://{context.Request.Host}/error?code={Code}",
        };
        if (SubError is not null)
        {
            body["suberror"] = SubError;
        }
        if (Claims is not null)
        {
            body["claims"] = Claims;
        }
        foreach (var (name, value) in Extra ?? new Dictionary<string, string>())
        {
            body[name] = value;
        }
        return Results.Json(body, statusCode: StatusCode);
    }
}
