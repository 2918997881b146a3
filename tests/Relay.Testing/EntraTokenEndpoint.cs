using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Relay.Testing;

/// <summary>
/// Entra's login endpoints as MSAL uses them. <c>POST /{tenant}/oauth2/v2.0/token</c> for the client-credentials grant
/// (the client authenticated by a secret, in the form body or as HTTP Basic authentication per RFC 6749 §2.3.1, or by a
/// certificate assertion), the password grant (ROPC) and the refresh-token grant; and <c>GET /common/userrealm/{upn}</c>,
/// which MSAL asks before a password grant. Errors use Entra's body shape and AADSTS codes.
/// </summary>
internal sealed class EntraTokenEndpoint(EntraDirectory directory)
{
    /// <summary>The ID of the (fictitious) Conditional Access policy that blocks users with <see cref="UserSignInBlock.ConditionalAccessBlocked"/>.</summary>
    private const string ConditionalAccessPolicyId = "c0a1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a4b";

    private static readonly HashSet<string> OpenIdScopes = new(["openid", "profile", "offline_access", "email"], StringComparer.OrdinalIgnoreCase);

    public async Task<IResult> IssueAsync(HttpContext context, string tenant)
    {
        directory.CountTokenRequest();
        if (directory.TokenEndpointUnavailable)
        {
            return new EntraFault(StatusCodes.Status503ServiceUnavailable, "temporarily_unavailable", 90033,
                "A transient error has occurred. Please try again.").ToResult(context);
        }
        if (!directory.HasTenant(tenant))
        {
            return new EntraFault(StatusCodes.Status400BadRequest, "invalid_request", 90002,
                $"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.")
                .ToResult(context);
        }

        var form = context.Request.HasFormContentType
            ? await context.Request.ReadFormAsync(context.RequestAborted)
            : FormCollection.Empty;

        var grantType = form["grant_type"].ToString();
        if (grantType.Length == 0)
        {
            return EntraFault.MissingParameter("grant_type").ToResult(context);
        }

        if (grantType is not ("client_credentials" or "password" or "refresh_token"))
        {
            return new EntraFault(StatusCodes.Status400BadRequest, "unsupported_grant_type", 70003,
                $"The app requested an unsupported grant type '{grantType}'.").ToResult(context);
        }

        var credentials = ClientCredentials.Read(context.Request, form);
        var refreshGrant = grantType == "refresh_token" && NullIfEmpty(form["refresh_token"]) is { } refreshToken
            ? directory.FindRefreshGrant(refreshToken)
            : null;
        var principal = grantType switch
        {
            "password" => NullIfEmpty(form["username"]),
            "refresh_token" => refreshGrant?.UserPrincipalName,
            _ => credentials.ClientId,
        };
        if (principal is not null)
        {
            directory.CountTokenRequest(principal);
        }

        if (credentials.ClientId is null)
        {
            return EntraFault.MissingParameter("client_id").ToResult(context);
        }

        if (directory.FindApplication(tenant, credentials.ClientId) is not { } app)
        {
            return new EntraFault(StatusCodes.Status400BadRequest, "unauthorized_client", 700016,
                $"Application with identifier '{credentials.ClientId}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.")
                .ToResult(context);
        }

        var fault = Authenticate(context, app, credentials, grantType) ?? grantType switch
        {
            "client_credentials" => null,
            "password" => SignIn(tenant, form),
            _ => Refresh(tenant, app, form, refreshGrant),
        };
        if (fault is not null)
        {
            return fault.ToResult(context);
        }

        var lifetime = directory.TokenLifetime;
        var expiresIn = (long)lifetime.TotalSeconds;
        if (grantType == "client_credentials")
        {
            var token = directory.Issue(tenant, app.ClientId, lifetime, Audience(form["scope"].ToString()));
            return Results.Json(new { token_type = "Bearer", expires_in = expiresIn, ext_expires_in = expiresIn, access_token = token.Value });
        }

        var user = grantType == "password" ? directory.FindUser(tenant, form["username"].ToString())! : directory.FindUser(tenant, refreshGrant!.UserPrincipalName)!;
        return IssueDelegated(context, tenant, app, user, form, lifetime);
    }

    /// <summary>
    /// <c>GET /common/userrealm/{upn}?api-version=1.0</c>: "Managed" for a domain some tenant has a registered user under,
    /// "Unknown" otherwise (MSAL then fails the password grant itself, with <c>unknown_user_type</c>, before any token request).
    /// </summary>
    public IResult GetUserRealm(string username)
    {
        var domain = username[(username.LastIndexOf('@') + 1)..];
        if (username.Contains('@', StringComparison.Ordinal) && directory.FindDomain(domain) is { } registered)
        {
            return Results.Json(new
            {
                ver = "1.0",
                account_type = "Managed",
                domain_name = registered,
                cloud_instance_name = "microsoftonline.com",
                cloud_audience_urn = "urn:federation:MicrosoftOnline",
            });
        }

        return Results.Json(new { ver = "1.0", account_type = "Unknown", cloud_instance_name = "microsoftonline.com" });
    }

    /// <summary>
    /// Client authentication (RFC 6749 §2.3): one method at most; none for a public client and any credential refused
    /// from one; otherwise the secret or the certificate assertion must be right.
    /// </summary>
    private static EntraFault? Authenticate(HttpContext context, EntraApplication app, ClientCredentials credentials, string grantType)
    {
        var hasAssertion = credentials.Assertion is not null || credentials.AssertionType is not null;
        if (credentials.Secret is not null && hasAssertion)
        {
            return new EntraFault(StatusCodes.Status400BadRequest, "invalid_request", 90023,
                "The request contains both 'client_secret' and 'client_assertion'; a client must use only one authentication method.");
        }

        if (app.IsPublicClient && (credentials.Secret is not null || hasAssertion))
        {
            return new EntraFault(StatusCodes.Status401Unauthorized, "invalid_client", 700025,
                "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.");
        }

        if (hasAssertion)
        {
            if (credentials.AssertionType is null)
            {
                return EntraFault.MissingParameter("client_assertion_type");
            }
            if (credentials.AssertionType != ClientAssertionValidator.AssertionType)
            {
                return new EntraFault(StatusCodes.Status400BadRequest, "invalid_request", 90023,
                    $"The client_assertion_type '{credentials.AssertionType}' is not supported; use '{ClientAssertionValidator.AssertionType}'.");
            }
            if (credentials.Assertion is null)
            {
                return EntraFault.MissingParameter("client_assertion");
            }

            var tokenEndpoint = $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}{context.Request.Path}";
            return ClientAssertionValidator.Validate(credentials.Assertion, app, tokenEndpoint, DateTimeOffset.UtcNow);
        }

        if (credentials.Secret is not null)
        {
            return credentials.Secret == app.Secret
                ? null
                : new EntraFault(StatusCodes.Status401Unauthorized, "invalid_client", 7000215,
                    $"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{app.ClientId}'.");
        }

        return app.IsPublicClient && grantType != "client_credentials"
            ? null
            : new EntraFault(StatusCodes.Status401Unauthorized, "invalid_client", 7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }

    /// <summary>The password grant's checks, in Entra's order: the account, its lockout or disabling, the password, then what a right password still cannot pass.</summary>
    private EntraFault? SignIn(string tenant, IFormCollection form)
    {
        foreach (var name in (string[])["username", "password", "scope"])
        {
            if (string.IsNullOrEmpty(form[name]))
            {
                return EntraFault.MissingParameter(name);
            }
        }

        var user = directory.FindUser(tenant, form["username"].ToString());
        if (user is null)
        {
            return InvalidGrant(50034,
                $"The user account {{EmailHidden}} does not exist in the '{tenant}' directory. To sign into this application, the account must be added to the directory.");
        }

        return AccountFault(user)
            ?? (form["password"] == user.Password ? null : InvalidGrant(50126, "Error validating credentials due to invalid username or password."))
            ?? PolicyFault(user, form["scope"].ToString());
    }

    private EntraFault? Refresh(string tenant, EntraApplication app, IFormCollection form, RefreshGrant? grant)
    {
        if (string.IsNullOrEmpty(form["refresh_token"]))
        {
            return EntraFault.MissingParameter("refresh_token");
        }

        if (grant is null
            || !grant.TenantId.Equals(tenant, StringComparison.OrdinalIgnoreCase)
            || !grant.ClientId.Equals(app.ClientId, StringComparison.OrdinalIgnoreCase)
            || directory.FindUser(tenant, grant.UserPrincipalName) is not { } current)
        {
            return InvalidGrant(9002313, "Invalid request. Request is malformed or invalid.");
        }

        if (current.Password != grant.Password)
        {
            return InvalidGrant(50173,
                "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.");
        }

        return AccountFault(current) ?? PolicyFault(current, form["scope"].ToString());
    }

    /// <summary>What refuses an account whatever password is sent.</summary>
    private static EntraFault? AccountFault(EntraUser user) => user.Block switch
    {
        UserSignInBlock.Locked => InvalidGrant(50053, "You've tried to sign in too many times with an incorrect user ID or password."),
        UserSignInBlock.Disabled => InvalidGrant(50057, "The user account is disabled."),
        _ => null,
    };

    /// <summary>What refuses a sign-in even with the right password.</summary>
    private static EntraFault? PolicyFault(EntraUser user, string scope) => user.Block switch
    {
        UserSignInBlock.PasswordExpired => new EntraFault(StatusCodes.Status400BadRequest, "user_password_expired", 50055, "Password is expired.")
        {
            SubError = "user_password_expired",
            Extra = new Dictionary<string, string> { ["password_change_url"] = "https://portal.microsoftonline.com/ChangePassword.aspx" },
        },
        UserSignInBlock.MfaRequired => InvalidGrant(50076,
            $"Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{ResourceAppId(DelegatedResource(scope))}'.")
            with { SubError = "basic_action" },
        UserSignInBlock.ConditionalAccessBlocked => InvalidGrant(53003,
            "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.")
            with
            {
                SubError = "message_only",
                Claims = "{\"access_token\":{\"capolids\":{\"essential\":true,\"values\":[\"" + ConditionalAccessPolicyId + "\"]}}}",
            },
        _ => null,
    };

    private static EntraFault InvalidGrant(int code, string description) =>
        new(StatusCodes.Status400BadRequest, "invalid_grant", code, description);

    /// <summary>
    /// A delegated token as the v2.0 endpoint returns it. MSAL needs <c>id_token</c> and <c>client_info</c> (it fails with
    /// an ArgumentNullException 'key' without them), and <c>refresh_token</c> for silent renewal.
    /// </summary>
    private IResult IssueDelegated(HttpContext context, string tenant, EntraApplication app, EntraUser user, IFormCollection form, TimeSpan lifetime)
    {
        var requested = form["scope"].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var resource = DelegatedResource(form["scope"].ToString());
        var token = directory.Issue(tenant, app.ClientId, lifetime, resource, user);
        var expiresIn = (long)lifetime.TotalSeconds;
        var granted = requested.Where(scope => !OpenIdScopes.Contains(scope)).ToArray();
        var body = new Dictionary<string, object>
        {
            ["token_type"] = "Bearer",
            ["scope"] = string.Join(' ', granted.Length > 0 ? granted : requested),
            ["expires_in"] = expiresIn,
            ["ext_expires_in"] = expiresIn,
            ["access_token"] = token.Value,
        };
        if (requested.Contains("offline_access", StringComparer.OrdinalIgnoreCase))
        {
            body["refresh_token"] = directory.IssueRefreshToken(user, app.ClientId);
        }
        if (requested.Contains("openid", StringComparer.OrdinalIgnoreCase))
        {
            body["id_token"] = IdToken(context, user, app.ClientId);
        }
        if (form["client_info"] == "1")
        {
            body["client_info"] = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(new { uid = user.ObjectId, utid = user.TenantId }));
        }
        return Results.Json(body);
    }

    /// <summary>An unsigned (<c>alg: none</c>) v2.0 ID token: MSAL reads its claims and never checks a signature.</summary>
    private static string IdToken(HttpContext context, EntraUser user, string clientId)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = JsonSerializer.SerializeToUtf8Bytes(new { typ = "JWT", alg = "none" });
        var payload = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["aud"] = clientId,
            ["iss"] = $"{context.Request.Scheme}://{context.Request.Host}/{user.TenantId}/v2.0",
            ["iat"] = now,
            ["nbf"] = now,
            ["exp"] = now + 3600,
            ["name"] = user.DisplayName,
            ["oid"] = user.ObjectId,
            ["preferred_username"] = user.UserPrincipalName,
            ["sub"] = Base64Url.EncodeToString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes($"{user.ObjectId}|{clientId}"))),
            ["tid"] = user.TenantId,
            ["ver"] = "2.0",
        });
        return $"{Base64Url.EncodeToString(header)}.{Base64Url.EncodeToString(payload)}.";
    }

    /// <summary>The resource a client-credentials token is for: the <c>{resource}/.default</c> scope without its suffix.</summary>
    private static string? Audience(string scope)
    {
        const string suffix = "/.default";
        var resource = scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(s => s.EndsWith(suffix, StringComparison.Ordinal));
        return resource?[..^suffix.Length];
    }

    /// <summary>
    /// The resource of a delegated request's first non-OpenID scope: <c>{resource}/.default</c> or <c>{resource}/{permission}</c>;
    /// a bare permission such as <c>Mail.Send</c> is Graph's, as in Entra.
    /// </summary>
    private static string? DelegatedResource(string scope)
    {
        var first = scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(s => !OpenIdScopes.Contains(s));
        if (first is null)
        {
            return null;
        }
        return Uri.TryCreate(first, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" or "api"
            ? first[..first.LastIndexOf('/')]
            : "https://graph.microsoft.com";
    }

    /// <summary>The app ID Entra names a resource by in AADSTS50076: Graph's well-known one, otherwise the resource as requested.</summary>
    private static string? ResourceAppId(string? resource) =>
        string.Equals(resource?.TrimEnd('/'), "https://graph.microsoft.com", StringComparison.OrdinalIgnoreCase)
            ? "00000003-0000-0000-c000-000000000000"
            : resource;

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>How the client authenticates: from HTTP Basic authentication or the form, and a certificate assertion.</summary>
    private sealed record ClientCredentials(string? ClientId, string? Secret, string? AssertionType, string? Assertion)
    {
        public static ClientCredentials Read(HttpRequest request, IFormCollection form)
        {
            var assertionType = NullIfEmpty(form["client_assertion_type"]);
            var assertion = NullIfEmpty(form["client_assertion"]);
            if (AuthenticationHeaderValue.TryParse(request.Headers.Authorization, out var authorization)
                && authorization.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase)
                && authorization.Parameter is { } encoded)
            {
                var decoded = new byte[encoded.Length];
                if (Convert.TryFromBase64String(encoded, decoded, out var length)
                    && Encoding.UTF8.GetString(decoded, 0, length).Split(':', 2) is [var id, var secret])
                {
                    // RFC 6749 §2.3.1: both halves are form-urlencoded before they are joined.
                    return new(WebUtility.UrlDecode(id), WebUtility.UrlDecode(secret), assertionType, assertion);
                }
            }

            return new(NullIfEmpty(form["client_id"]), NullIfEmpty(form["client_secret"]), assertionType, assertion);
        }
    }
}
