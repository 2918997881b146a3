using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Relay.Testing;

/// <summary>
/// Checks a certificate client assertion (<c>client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer</c>)
/// as Entra does: the header's <c>x5t#S256</c> or <c>x5t</c> names a certificate registered on the app and valid now, the
/// signature verifies with its key (RS256/384/512, PS256/384/512 or ES256/384/512), <c>iss</c> and <c>sub</c> are the
/// client ID, <c>aud</c> is the token endpoint the request came to, and now is within <c>nbf</c>..<c>exp</c> give or take
/// five minutes.
/// </summary>
internal static class ClientAssertionValidator
{
    public const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    /// <summary>The clock skew Entra allows on <c>nbf</c> and <c>exp</c>.</summary>
    public static readonly TimeSpan AllowedSkew = TimeSpan.FromMinutes(5);

    private const string DocumentationUrl = "https://learn.microsoft.com/entra/identity-platform/certificate-credentials";

    /// <summary>Null when the assertion authenticates <paramref name="app"/>; otherwise the error Entra answers with.</summary>
    /// <param name="assertion">The compact JWT.</param>
    /// <param name="app">The app the request names in <c>client_id</c>.</param>
    /// <param name="tokenEndpoint">The URL the request was sent to, which <c>aud</c> must name.</param>
    /// <param name="now">The current time.</param>
    public static EntraFault? Validate(string assertion, EntraApplication app, string tokenEndpoint, DateTimeOffset now)
    {
        if (Parse(assertion) is not var (header, payload, signedPart, signature))
        {
            return new EntraFault(StatusCodes.Status400BadRequest, "invalid_request", 50027, "JWT token is invalid or malformed.");
        }

        var (certificate, thumbprint) = FindCertificate(header, app);
        if (certificate is null)
        {
            var used = thumbprint is null ? string.Empty : $"Thumbprint of key used by client: '{thumbprint}', ";
            return InvalidClient(700027,
                $"The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., {used}Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{app.ClientId}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/{app.ClientId}'].");
        }

        var foundKey = string.Create(CultureInfo.InvariantCulture, $"Found key 'Start={certificate.NotBefore.ToUniversalTime():MM/dd/yyyy HH:mm:ss}, End={certificate.NotAfter.ToUniversalTime():MM/dd/yyyy HH:mm:ss}'");
        if (now < certificate.NotBefore.ToUniversalTime() || now > certificate.NotAfter.ToUniversalTime())
        {
            return InvalidClient(700027,
                $"Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '{thumbprint}', {foundKey}]");
        }

        if (!VerifySignature(String(header, "alg"), certificate, signedPart, signature))
        {
            return InvalidClient(700027,
                $"Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{thumbprint}', {foundKey}]");
        }

        if (!string.Equals(String(payload, "iss"), app.ClientId, StringComparison.OrdinalIgnoreCase)
            || !string.Equals(String(payload, "sub"), app.ClientId, StringComparison.OrdinalIgnoreCase))
        {
            return InvalidClient(700021, $"Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at {DocumentationUrl}.");
        }

        if (!Audiences(payload).Any(audience => audience.Equals(tokenEndpoint, StringComparison.OrdinalIgnoreCase)))
        {
            return InvalidClient(700023, $"Client assertion audience claim does not match Realm issuer. Review the documentation at {DocumentationUrl}.");
        }

        var notBefore = Seconds(payload, "nbf");
        var expires = Seconds(payload, "exp");
        if (expires is null || expires + AllowedSkew <= now || notBefore - AllowedSkew > now)
        {
            return InvalidClient(700024,
                $"Client assertion is not within its valid time range. Current time: {Timestamp(now)}, assertion valid from {Timestamp(notBefore ?? DateTimeOffset.UnixEpoch)}, expiry time of assertion {(expires is { } exp ? Timestamp(exp) : "(none)")}. Review the documentation at {DocumentationUrl} .");
        }

        return null;
    }

    private static EntraFault InvalidClient(int code, string description) =>
        new(StatusCodes.Status401Unauthorized, "invalid_client", code, description);

    private static (JsonElement Header, JsonElement Payload, byte[] SignedPart, byte[] Signature)? Parse(string assertion)
    {
        var parts = assertion.Split('.');
        if (parts.Length != 3
            || DecodeJsonObject(parts[0]) is not { } header
            || DecodeJsonObject(parts[1]) is not { } payload
            || DecodeBase64Url(parts[2]) is not { } signature)
        {
            return null;
        }

        return (header, payload, Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"), signature);
    }

    private static JsonElement? DecodeJsonObject(string part)
    {
        if (DecodeBase64Url(part) is not { } bytes)
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(bytes);
            return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static byte[]? DecodeBase64Url(string value)
    {
        try
        {
            return Base64Url.DecodeFromChars(value);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>The registered certificate the header names (by <c>x5t#S256</c>, else <c>x5t</c>), and the thumbprint the client sent, in hex.</summary>
    private static (X509Certificate2? Certificate, string? Thumbprint) FindCertificate(JsonElement header, EntraApplication app)
    {
        if (String(header, "x5t#S256") is { } sha256 && DecodeBase64Url(sha256) is { } sha256Bytes)
        {
            var match = app.Certificates.FirstOrDefault(certificate => SHA256.HashData(certificate.RawData).AsSpan().SequenceEqual(sha256Bytes));
            return (match, Convert.ToHexString(sha256Bytes));
        }
        if (String(header, "x5t") is { } sha1 && DecodeBase64Url(sha1) is { } sha1Bytes)
        {
            var match = app.Certificates.FirstOrDefault(certificate => certificate.GetCertHash().AsSpan().SequenceEqual(sha1Bytes));
            return (match, Convert.ToHexString(sha1Bytes));
        }
        return (null, null);
    }

    private static bool VerifySignature(string? algorithm, X509Certificate2 certificate, byte[] signedPart, byte[] signature)
    {
        var hash = algorithm?.Length == 5 ? algorithm[2..] switch
        {
            "256" => HashAlgorithmName.SHA256,
            "384" => HashAlgorithmName.SHA384,
            "512" => HashAlgorithmName.SHA512,
            _ => default,
        } : default;
        if (hash == default)
        {
            return false;
        }

        switch (algorithm![..2])
        {
            case "RS" or "PS":
                using (var rsa = certificate.GetRSAPublicKey())
                {
                    var padding = algorithm[0] == 'R' ? RSASignaturePadding.Pkcs1 : RSASignaturePadding.Pss;
                    return rsa is not null && rsa.VerifyData(signedPart, signature, hash, padding);
                }

            case "ES":
                using (var ecdsa = certificate.GetECDsaPublicKey())
                {
                    // JWS signatures are r||s (IEEE P1363), .NET's default format.
                    return ecdsa is not null && ecdsa.VerifyData(signedPart, signature, hash);
                }

            default:
                return false;
        }
    }

    private static string? String(JsonElement json, string name) =>
        json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary><c>aud</c> as a string or an array of strings (RFC 7519 §4.1.3).</summary>
    private static IEnumerable<string> Audiences(JsonElement payload)
    {
        if (!payload.TryGetProperty("aud", out var audience))
        {
            return [];
        }
        return audience.ValueKind switch
        {
            JsonValueKind.String => [audience.GetString()!],
            JsonValueKind.Array => audience.EnumerateArray().Where(item => item.ValueKind == JsonValueKind.String).Select(item => item.GetString()!).ToList(),
            _ => [],
        };
    }

    /// <summary>A NumericDate claim: MSAL.NET writes <c>nbf</c> and <c>exp</c> as strings of digits, and Entra accepts that as well as numbers.</summary>
    private static DateTimeOffset? Seconds(JsonElement payload, string name)
    {
        if (!payload.TryGetProperty(name, out var value))
        {
            return null;
        }
        var valid = value.ValueKind switch
        {
            JsonValueKind.Number => value.TryGetInt64(out var number) ? number : (long?)null,
            JsonValueKind.String => long.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var text) ? text : null,
            _ => null,
        };
        return valid is { } seconds ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;
    }

    private static string Timestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
}
