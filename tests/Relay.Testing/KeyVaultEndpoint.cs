using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;

namespace Relay.Testing;

/// <summary>
/// <c>GET /secrets?api-version=…</c> (the list, in pages of <see cref="PageSize"/> joined by <c>nextLink</c>) and
/// <c>GET /secrets/{name}/{version?}?api-version=…</c> as Key Vault answers them, behind Key Vault's challenge: a request
/// without a valid bearer token gets 401 with <c>WWW-Authenticate: Bearer authorization="{authority}/{tenant}",
/// resource="…"</c>, and only a token the fake Entra issued in the vault's tenant for that resource is accepted.
/// </summary>
internal sealed class KeyVaultEndpoint(KeyVaultStore store, EntraDirectory directory, Func<Uri> authorityHost)
{
    /// <summary>Secrets per list page. Key Vault's default is 25; 2 makes every test with a few secrets follow <c>nextLink</c>.</summary>
    public const int PageSize = 2;

    public IResult ListSecrets(HttpContext context)
    {
        if (Refuse(context, string.Empty) is { } refused)
        {
            return refused;
        }
        var skip = int.TryParse(context.Request.Query["$skiptoken"], out var token) && token > 0 ? token : 0;
        var secrets = store.Latest();
        var vault = $"https://{context.Request.Host}";
        var page = secrets.Skip(skip).Take(PageSize).Select(secret =>
        {
            var item = new Dictionary<string, object?>
            {
                ["id"] = $"{vault}/secrets/{secret.Name}",
                ["attributes"] = Attributes(secret),
                ["tags"] = new Dictionary<string, string>(),
            };
            if (secret.ContentType is not null)
            {
                item["contentType"] = secret.ContentType;
            }
            if (secret.Managed)
            {
                item["managed"] = true;
            }
            return item;
        }).ToList();
        var next = skip + PageSize < secrets.Count
            ? $"{vault}/secrets?api-version={Uri.EscapeDataString(context.Request.Query["api-version"].ToString())}&$skiptoken={skip + PageSize}&maxresults={PageSize}"
            : null;
        return Results.Json(new Dictionary<string, object?> { ["value"] = page, ["nextLink"] = next });
    }

    public IResult GetSecret(HttpContext context, string name, string? version)
    {
        if (Refuse(context, name) is { } refused)
        {
            return refused;
        }
        if (store.Find(name, version) is not { } secret)
        {
            return Error(StatusCodes.Status404NotFound, "SecretNotFound",
                $"A secret with (name/id) {name}{(string.IsNullOrEmpty(version) ? string.Empty : "/" + version)} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182");
        }

        if (!secret.Enabled)
        {
            return Results.Json(new { error = new { code = "Forbidden", message = "Operation get is not allowed on a disabled secret.", innererror = new { code = "SecretDisabled" } } },
                statusCode: StatusCodes.Status403Forbidden);
        }

        var vault = $"https://{context.Request.Host}";
        var body = new Dictionary<string, object?>
        {
            ["value"] = secret.Value,
            ["contentType"] = secret.ContentType,
            ["id"] = $"{vault}/secrets/{secret.Name}/{secret.Version}",
            ["attributes"] = Attributes(secret),
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

    /// <summary>
    /// Counts the request and answers it when it must not reach the vault's content: no api-version, no valid token (the
    /// challenge), or a fault the test injected (called with the secret name, or the empty string for the list).
    /// </summary>
    private IResult? Refuse(HttpContext context, string name)
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
        return store.Fault?.Invoke(name) is { } fault ? Error(fault.StatusCode, fault.Code, fault.Message) : null;
    }

    /// <summary>A version's attributes as Key Vault writes them: Unix seconds, <c>exp</c> only when set.</summary>
    private static Dictionary<string, object> Attributes(SecretVersion secret)
    {
        var attributes = new Dictionary<string, object>
        {
            ["enabled"] = secret.Enabled,
            ["created"] = secret.Created.ToUnixTimeSeconds(),
            ["updated"] = secret.Updated.ToUnixTimeSeconds(),
            ["recoveryLevel"] = "Recoverable+Purgeable",
            ["recoverableDays"] = 90,
        };
        if (secret.ExpiresOn is { } expires)
        {
            attributes["exp"] = expires.ToUnixTimeSeconds();
        }
        return attributes;
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
