using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;

namespace Relay.Testing;

/// <summary>
/// <c>GET /secrets/{name}/{version?}?api-version=…</c> as Key Vault answers it, behind Key Vault's challenge: a request
/// without a valid bearer token gets 401 with <c>WWW-Authenticate: Bearer authorization="{authority}/{tenant}",
/// resource="…"</c>, and only a token the fake Entra issued in the vault's tenant for that resource is accepted.
/// </summary>
internal sealed class KeyVaultEndpoint(KeyVaultStore store, EntraDirectory directory, Func<Uri> authorityHost)
{
    public IResult GetSecret(HttpContext context, string name, string? version)
    {
        store.CountRequest();
        if (string.IsNullOrEmpty(context.Request.Query["api-version"]))
        {
            return Error(StatusCodes.Status400BadRequest, "BadParameter", "The request URI contains an invalid API version: api-version is required.");
        }
        if (Unauthorized(context.Request) is { } reason)
        {
            context.Response.Headers.WWWAuthenticate =
                $"Bearer authorization=\"{authorityHost().GetLeftPart(UriPartial.Authority)}/{store.TenantId}\", resource=\"{KeyVaultStore.Resource}\"";
            return Error(StatusCodes.Status401Unauthorized, "Unauthorized", reason);
        }
        if (store.Fault?.Invoke(name) is { } fault)
        {
            return Error(fault.StatusCode, fault.Code, fault.Message);
        }
        if (store.Find(name, version) is not { } secret)
        {
            return Error(StatusCodes.Status404NotFound, "SecretNotFound",
                $"A secret with (name/id) {name}{(string.IsNullOrEmpty(version) ? string.Empty : "/" + version)} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182");
        }

        var vault = $"https://{context.Request.Host}";
        var created = secret.Created.ToUnixTimeSeconds();
        var attributes = new Dictionary<string, object>
        {
            ["enabled"] = true,
            ["created"] = created,
            ["updated"] = created,
            ["recoveryLevel"] = "Recoverable+Purgeable",
            ["recoverableDays"] = 90,
        };
        var body = new Dictionary<string, object?>
        {
            ["value"] = secret.Value,
            ["contentType"] = secret.ContentType,
            ["id"] = $"{vault}/secrets/{secret.Name}/{secret.Version}",
            ["attributes"] = attributes,
            ["tags"] = new Dictionary<string, string>(),
        };
        if (secret.Managed)
        {
            // A certificate's secret: Key Vault manages it and names the key that goes with it.
            body["kid"] = $"{vault}/keys/{secret.Name}/{secret.Version}";
            body["managed"] = true;
        }
        return Results.Json(body);
    }

    /// <summary>Why the request is not authorized, or null when it carries a valid token for this vault.</summary>
    private string? Unauthorized(HttpRequest request)
    {
        if (!AuthenticationHeaderValue.TryParse(request.Headers.Authorization, out var authorization)
            || !authorization.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase)
            || string.IsNullOrEmpty(authorization.Parameter))
        {
            return "AKV10000: Request is missing a Bearer or PoP token.";
        }
        if (directory.Find(authorization.Parameter) is not { } token || token.ExpiresOn <= DateTimeOffset.UtcNow)
        {
            return "Invalid token: the authority did not issue it, or it has expired.";
        }
        if (!string.Equals(token.Audience, KeyVaultStore.Resource, StringComparison.OrdinalIgnoreCase))
        {
            return $"AKV10022: Invalid audience. Expected {KeyVaultStore.Resource}, found: {token.Audience}.";
        }
        if (!string.Equals(token.TenantId, store.TenantId, StringComparison.OrdinalIgnoreCase))
        {
            return $"AKV10032: Invalid issuer. Expected one of the tenant {store.TenantId}, found: {token.TenantId}.";
        }
        return null;
    }

    private static IResult Error(int statusCode, string code, string message) =>
        Results.Json(new { error = new { code, message } }, statusCode: statusCode);
}
