using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Relay.Testing;

/// <summary>
/// <c>POST /{tenant}/oauth2/v2.0/token</c> for the client-credentials grant with a client secret, in the form body or
/// as HTTP Basic authentication (RFC 6749 §2.3.1). Errors use Entra's body shape and AADSTS codes.
/// </summary>
internal sealed class EntraTokenEndpoint(EntraDirectory directory)
{
    public async Task<IResult> IssueAsync(HttpContext context, string tenant)
    {
        directory.CountTokenRequest();
        if (!directory.HasTenant(tenant))
        {
            return Error(context, StatusCodes.Status400BadRequest, "invalid_request", 90002,
                $"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.");
        }

        var form = context.Request.HasFormContentType
            ? await context.Request.ReadFormAsync(context.RequestAborted)
            : FormCollection.Empty;

        var grantType = form["grant_type"].ToString();
        if (grantType.Length == 0)
        {
            return MissingParameter(context, "grant_type");
        }

        if (grantType != "client_credentials")
        {
            return Error(context, StatusCodes.Status400BadRequest, "unsupported_grant_type", 70003,
                $"The app requested an unsupported grant type '{grantType}'.");
        }

        var (clientId, clientSecret) = ReadClientCredentials(context.Request, form);
        if (clientId is null)
        {
            return MissingParameter(context, "client_id");
        }

        if (directory.FindSecret(tenant, clientId) is not { } expectedSecret)
        {
            return Error(context, StatusCodes.Status400BadRequest, "unauthorized_client", 700016,
                $"Application with identifier '{clientId}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.");
        }

        if (clientSecret is null)
        {
            return Error(context, StatusCodes.Status401Unauthorized, "invalid_client", 7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
        }

        if (clientSecret != expectedSecret)
        {
            return Error(context, StatusCodes.Status401Unauthorized, "invalid_client", 7000215,
                $"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{clientId}'.");
        }

        var lifetime = directory.TokenLifetime;
        var token = directory.Issue(tenant, clientId, lifetime, Audience(form["scope"].ToString()));
        var expiresIn = (long)lifetime.TotalSeconds;
        return Results.Json(new { token_type = "Bearer", expires_in = expiresIn, ext_expires_in = expiresIn, access_token = token.Value });
    }

    private static (string? ClientId, string? ClientSecret) ReadClientCredentials(HttpRequest request, IFormCollection form)
    {
        if (AuthenticationHeaderValue.TryParse(request.Headers.Authorization, out var authorization)
            && authorization.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase)
            && authorization.Parameter is { } encoded)
        {
            var decoded = new byte[encoded.Length];
            if (Convert.TryFromBase64String(encoded, decoded, out var length)
                && Encoding.UTF8.GetString(decoded, 0, length).Split(':', 2) is [var id, var secret])
            {
                // RFC 6749 §2.3.1: both halves are form-urlencoded before they are joined.
                return (WebUtility.UrlDecode(id), WebUtility.UrlDecode(secret));
            }
        }

        return (NullIfEmpty(form["client_id"]), NullIfEmpty(form["client_secret"]));
    }

    /// <summary>The resource a client-credentials token is for: the <c>{resource}/.default</c> scope without its suffix.</summary>
    private static string? Audience(string scope)
    {
        const string suffix = "/.default";
        var resource = scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(s => s.EndsWith(suffix, StringComparison.Ordinal));
        return resource?[..^suffix.Length];
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static IResult MissingParameter(HttpContext context, string name) =>
        Error(context, StatusCodes.Status400BadRequest, "invalid_request", 900144,
            $"The request body must contain the following parameter: '{name}'.");

    private static IResult Error(HttpContext context, int statusCode, string error, int errorCode, string description)
    {
        var traceId = Guid.NewGuid().ToString();
        var correlationId = Guid.TryParse(GraphRequestIds.ClientRequestId(context), out var clientRequestId)
            ? clientRequestId.ToString()
            : Guid.NewGuid().ToString();
        var timestamp = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        return Results.Json(
            new
            {
                error,
                error_description = $"AADSTS{errorCode}: {description}\r\nTrace ID: {traceId}\r\nCorrelation ID: {correlationId}\r\nTimestamp: {timestamp}",
                error_codes = new[] { errorCode },
                timestamp,
                trace_id = traceId,
                correlation_id = correlationId,
                error_uri = $"{context.Request.Scheme}://{context.Request.Host}/error?code={errorCode}",
            },
            statusCode: statusCode);
    }
}
