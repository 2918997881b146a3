using System.Buffers.Text;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Relay.Testing;

/// <summary>
/// Reading Graph request bodies as the service does: property names bind case-insensitively (the SDK sends action
/// parameters as <c>Message</c> and <c>AttachmentItem</c>, the docs show <c>message</c>; resources in camelCase).
/// </summary>
internal static class GraphJson
{
    /// <summary>Graph's limit on one request: 4 MiB of body, whatever Content-Length claims.</summary>
    public const int MaxRequestBytes = 4 * 1024 * 1024;

    public static readonly GraphFault MalformedJson = new(StatusCodes.Status400BadRequest, "BadRequest",
        "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.");

    /// <summary>The first property named <paramref name="name"/> in any case, when <paramref name="json"/> is an object that has one.</summary>
    public static bool TryGet(JsonElement json, string name, out JsonElement value)
    {
        if (json.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in json.EnumerateObject())
            {
                if (property.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    value = property.Value;
                    return true;
                }
            }
        }

        value = default;
        return false;
    }

    public static string? String(JsonElement json, string name) =>
        TryGet(json, name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static bool? Boolean(JsonElement json, string name) =>
        TryGet(json, name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : null;

    public static long? Int64(JsonElement json, string name) =>
        TryGet(json, name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : null;

    public static JsonElement? Object(JsonElement json, string name) =>
        TryGet(json, name, out var value) && value.ValueKind == JsonValueKind.Object ? value : null;

    /// <summary>The elements of an array property; empty when it is missing or null.</summary>
    public static IEnumerable<JsonElement> Array(JsonElement json, string name) =>
        TryGet(json, name, out var value) && value.ValueKind == JsonValueKind.Array ? value.EnumerateArray() : [];

    public static JsonElement? Parse(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Exchange's rules for a message's <c>internetMessageHeaders</c>: at most 5, each named <c>x-…</c> or <c>X-…</c>
    /// (400 <c>InvalidInternetMessageHeaderCollection</c> / <c>InvalidInternetMessageHeader</c>).
    /// </summary>
    public static GraphFault? CheckInternetMessageHeaders(JsonElement message)
    {
        if (!TryGet(message, "internetMessageHeaders", out var headers) || headers.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (headers.ValueKind != JsonValueKind.Array)
        {
            return MalformedJson;
        }

        if (headers.GetArrayLength() > 5)
        {
            return new GraphFault(StatusCodes.Status400BadRequest, "InvalidInternetMessageHeaderCollection",
                "Maximum number of headers in one message should be less than or equal to 5.");
        }

        foreach (var header in headers.EnumerateArray())
        {
            var name = String(header, "name") ?? string.Empty;
            if (!name.StartsWith("x-", StringComparison.OrdinalIgnoreCase))
            {
                return new GraphFault(StatusCodes.Status400BadRequest, "InvalidInternetMessageHeader",
                    $"The internet message header name '{name}' should start with 'x-' or 'X-'.");
            }
        }

        return null;
    }

    /// <summary>Standard base64; CR, LF, tabs and spaces between characters are ignored.</summary>
    public static byte[]? DecodeBase64(byte[] body)
    {
        var decoded = new byte[Base64.GetMaxDecodedFromUtf8Length(body.Length)];
        return Convert.TryFromBase64String(Encoding.ASCII.GetString(body), decoded, out var length)
            ? decoded[..length]
            : null;
    }

    /// <summary>The lower-cased media type of the request's Content-Type, or null.</summary>
    public static string? MediaType(HttpRequest request) =>
        MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType) ? contentType.MediaType?.ToLowerInvariant() : null;

    /// <summary>
    /// The whole body, or null as soon as it grows past <see cref="MaxRequestBytes"/>. Not cancelled when the client goes
    /// away: the journal has buffered the body, and Graph finishes what it started.
    /// </summary>
    public static async Task<byte[]?> ReadBodyAsync(Stream body)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk)) > 0)
        {
            if (buffer.Length + read > MaxRequestBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
