using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Relay.Testing;

/// <summary>
/// Shared Key authorization as the Table service checks it (Authorize with Shared Key, formats for 2009-09-19 and later):
/// <c>Authorization: SharedKey ACCOUNT:SIGNATURE</c> signs <c>VERB\nContent-MD5\nContent-Type\nDate\nCanonicalizedResource</c>;
/// <c>Authorization: SharedKeyLite ACCOUNT:SIGNATURE</c> — what Azure.Data.Tables sends — signs <c>Date\nCanonicalizedResource</c>.
/// The signature is base64 HMAC-SHA256 of the UTF-8 string with the decoded account key. Date is <c>x-ms-date</c> when the
/// request has one, else <c>Date</c>, and must be within 15 minutes of now. CanonicalizedResource is <c>/ACCOUNT</c>, then
/// the request path exactly as sent (path-style, so the account appears twice: <c>/relaystore/relaystore/Table()</c>), then
/// <c>?comp=VALUE</c> when the query has a <c>comp</c> parameter; no other query parameter is signed.
/// </summary>
internal static class TableSharedKey
{
    private static readonly TimeSpan AllowedClockSkew = TimeSpan.FromMinutes(15);

    /// <summary>Why the request's Shared Key authorization fails, or null when it is valid for the account.</summary>
    /// <param name="request">The request.</param>
    /// <param name="scheme"><c>SharedKey</c> or <c>SharedKeyLite</c>.</param>
    /// <param name="credential">The header's parameter, <c>ACCOUNT:SIGNATURE</c>.</param>
    /// <param name="account">The account the request is for.</param>
    /// <param name="accountKey">The account key.</param>
    public static string? Refuse(HttpRequest request, string scheme, string credential, string account, byte[] accountKey)
    {
        var colon = credential.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !string.Equals(credential[..colon], account, StringComparison.Ordinal))
        {
            return $"The account in the Authorization header is not {account}.";
        }
        var date = request.Headers["x-ms-date"].ToString() is { Length: > 0 } msDate ? msDate : request.Headers.Date.ToString();
        if (!DateTimeOffset.TryParseExact(date, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var signedAt))
        {
            return "The request has no valid x-ms-date or Date header (RFC 1123).";
        }
        if ((DateTimeOffset.UtcNow - signedAt).Duration() > AllowedClockSkew)
        {
            return $"Request date header too old: '{date}'.";
        }

        var resource = CanonicalizedResource(request, account);
        var stringToSign = scheme == "SharedKeyLite"
            ? $"{date}\n{resource}"
            : $"{request.Method}\n{request.Headers["Content-MD5"]}\n{request.Headers.ContentType}\n{date}\n{resource}";
        var expected = HMACSHA256.HashData(accountKey, Encoding.UTF8.GetBytes(stringToSign));
        var given = new byte[expected.Length];
        if (!Convert.TryFromBase64String(credential[(colon + 1)..], given, out var length) || length != expected.Length
            || !CryptographicOperations.FixedTimeEquals(given, expected))
        {
            // The service says which string it signed, so a client can see where its own differs.
            return $"The MAC signature found in the HTTP request '{credential[(colon + 1)..]}' is not the same as any computed signature. Server used following string to sign: '{stringToSign}'.";
        }
        return null;
    }

    /// <summary><c>/ACCOUNT</c> + the path as sent + <c>?comp=VALUE</c> when there is a <c>comp</c> parameter.</summary>
    private static string CanonicalizedResource(HttpRequest request, string account)
    {
        var target = request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget ?? (request.PathBase + request.Path).ToUriComponent();
        var question = target.IndexOf('?', StringComparison.Ordinal);
        var path = question < 0 ? target : target[..question];
        var resource = $"/{account}{path}";
        return request.Query.TryGetValue("comp", out var comp) ? $"{resource}?comp={comp}" : resource;
    }
}
