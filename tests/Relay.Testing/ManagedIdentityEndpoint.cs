using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Relay.Testing;

/// <summary>
/// The two managed-identity token sources MSAL's <c>ManagedIdentityCredential</c> uses on Azure hosting, issuing app-only
/// tokens for the identities in <see cref="EntraDirectory"/>:
/// <list type="bullet">
/// <item><description>
/// App Service / Azure Container Apps (MSAL picks it when <c>IDENTITY_ENDPOINT</c> and <c>IDENTITY_HEADER</c> are set),
/// protocol 2019-08-01: <c>GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&amp;resource={resource}[&amp;client_id=|&amp;mi_res_id=|&amp;object_id=]</c>
/// with <c>X-IDENTITY-HEADER: {IDENTITY_HEADER}</c>, answered with <c>{"access_token","expires_on","resource","token_type","client_id"}</c>
/// (<c>expires_on</c> in Unix seconds, as a string); errors are <c>{"statusCode","message","correlationId"}</c>.
/// </description></item>
/// <item><description>
/// IMDS (MSAL's fallback when no such variable is set): <c>GET http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&amp;resource={resource}[&amp;client_id=|&amp;msi_res_id=|&amp;object_id=]</c>
/// with <c>Metadata: true</c>, answered with <c>access_token</c>, <c>client_id</c>, and <c>expires_in</c>, <c>expires_on</c>,
/// <c>ext_expires_in</c>, <c>not_before</c> as strings, <c>resource</c> and <c>token_type</c>; errors are
/// <c>{"error","error_description"}</c>. <see cref="FakeMicrosoftCloud.CreateTrustingHandler"/> routes the link-local
/// address here.
/// </description></item>
/// </list>
/// </summary>
internal sealed class ManagedIdentityEndpoint(EntraDirectory directory)
{
    public const string AppServicePath = "/msi/token";

    public const string AppServiceApiVersion = "2019-08-01";

    public const string AppServiceSecretHeader = "X-IDENTITY-HEADER";

    public const string ImdsPath = "/metadata/identity/oauth2/token";

    public IResult IssueForAppService(HttpContext context)
    {
        var request = Read(context, ["client_id", "mi_res_id", "object_id", "principal_id"]);
        if (context.Request.Headers[AppServiceSecretHeader] != directory.ManagedIdentityHeader)
        {
            return AppServiceError(context, StatusCodes.Status401Unauthorized, $"Unauthorized: the {AppServiceSecretHeader} header is missing or does not match IDENTITY_HEADER.");
        }

        if (request.ApiVersion != AppServiceApiVersion)
        {
            return AppServiceError(context, StatusCodes.Status400BadRequest, $"The api-version '{request.ApiVersion}' is not supported; use {AppServiceApiVersion}.");
        }

        if (request.Resource.Length == 0)
        {
            return AppServiceError(context, StatusCodes.Status400BadRequest, "The 'resource' query parameter is required.");
        }

        if (request.Identity is not { } identity)
        {
            return AppServiceError(context, StatusCodes.Status400BadRequest, "Unable to load the proper Managed Identity.");
        }

        var token = Issue(identity, request.Resource);
        return Results.Json(new
        {
            access_token = token.Value,
            expires_on = token.ExpiresOn.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            resource = request.Resource,
            token_type = "Bearer",
            client_id = identity.ClientId,
        });
    }

    public IResult IssueForImds(HttpContext context)
    {
        var request = Read(context, ["client_id", "msi_res_id", "mi_res_id", "object_id"]);
        if (context.Request.Headers["Metadata"] != "true")
        {
            return ImdsError(StatusCodes.Status400BadRequest, "Required metadata header not specified");
        }

        if (request.ApiVersion.Length == 0)
        {
            return ImdsError(StatusCodes.Status400BadRequest, "Required api-version parameter not specified");
        }

        if (request.Resource.Length == 0)
        {
            return ImdsError(StatusCodes.Status400BadRequest, "Required audience parameter not specified");
        }

        if (request.Identity is not { } identity)
        {
            return ImdsError(StatusCodes.Status400BadRequest, "Identity not found");
        }

        var token = Issue(identity, request.Resource);
        var now = DateTimeOffset.UtcNow;
        var expiresIn = ((long)(token.ExpiresOn - now).TotalSeconds).ToString(CultureInfo.InvariantCulture);
        return Results.Json(new
        {
            access_token = token.Value,
            client_id = identity.ClientId,
            expires_in = expiresIn,
            expires_on = token.ExpiresOn.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            ext_expires_in = expiresIn,
            not_before = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            resource = request.Resource,
            token_type = "Bearer",
        });
    }

    /// <summary>
    /// Counts the request (for the identity, or for the client ID asked for when it is unknown) and finds the identity:
    /// the system-assigned one when no selector is given, the one the single selector names otherwise.
    /// </summary>
    private IdentityRequest Read(HttpContext context, string[] selectorNames)
    {
        directory.CountTokenRequest();
        var query = context.Request.Query;
        string Query(string name) => query[name].ToString();

        var selectors = selectorNames.Where(name => Query(name).Length > 0).ToList();
        var identities = directory.ManagedIdentities.ToList();
        var identity = selectors switch
        {
            [] => identities.FirstOrDefault(registered => registered.SystemAssigned),
            ["client_id"] => identities.FirstOrDefault(registered => registered.ClientId.Equals(Query("client_id"), StringComparison.OrdinalIgnoreCase)),
            [var name] when name.EndsWith("_res_id", StringComparison.Ordinal) =>
                identities.FirstOrDefault(registered => string.Equals(registered.ResourceId, Query(name), StringComparison.OrdinalIgnoreCase)),
            [var name] => identities.FirstOrDefault(registered => registered.ObjectId.Equals(Query(name), StringComparison.OrdinalIgnoreCase)),
            _ => null,
        };

        if ((identity?.ClientId ?? (Query("client_id") is { Length: > 0 } clientId ? clientId : null)) is { } principal)
        {
            directory.CountTokenRequest(principal);
        }

        return new IdentityRequest(Query("api-version"), Query("resource"), identity);
    }

    private IssuedToken Issue(ManagedIdentityRegistration identity, string resource) =>
        directory.Issue(identity.TenantId, identity.ClientId, directory.TokenLifetime, resource.TrimEnd('/'));

    private static IResult AppServiceError(HttpContext context, int statusCode, string message) =>
        Results.Json(new { statusCode, message, correlationId = GraphRequestIds.RequestId(context) }, statusCode: statusCode);

    private static IResult ImdsError(int statusCode, string description) =>
        Results.Json(new { error = "invalid_request", error_description = description }, statusCode: statusCode);

    private sealed record IdentityRequest(string ApiVersion, string Resource, ManagedIdentityRegistration? Identity);
}
