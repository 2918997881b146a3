using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Relay.Testing;

/// <summary>
/// Query Entities of the Azure Table service, path-style as Azurite serves it:
/// <c>GET /{account}/{table}()?$filter=…&amp;$top=…&amp;$format=…</c>. Authorized with Shared Key (<see cref="TableSharedKey"/>)
/// or with a bearer token the fake Entra issued for <c>https://storage.azure.com</c>; answers in JSON with
/// <c>odata=minimalmetadata</c> or <c>odata=nometadata</c> (from <c>$format</c>, else from <c>Accept</c>), with errors in the
/// service's <c>odata.error</c> shape and <c>x-ms-error-code</c>. Only the conjunctions of <c>eq</c> comparisons that
/// <see cref="TableFilter"/> parses are accepted; <c>$top</c> pages are joined by <c>x-ms-continuation-NextPartitionKey</c>
/// and <c>x-ms-continuation-NextRowKey</c>.
/// </summary>
internal sealed class TableStorageEndpoint(Func<TableStore> store, EntraDirectory directory)
{
    private const string MinimalMetadata = "minimalmetadata";
    private const string NoMetadata = "nometadata";
    private const string ServiceVersion = "2020-12-06";
    private const int MaxTop = 1000;

    private static readonly HashSet<string> QueryOptions = new(StringComparer.Ordinal) { "$filter", "$top", "$format", "NextPartitionKey", "NextRowKey" };

    /// <summary>Adds the route to the fake's application (before it starts).</summary>
    public static void Map(IEndpointRouteBuilder routes, TableStorageEndpoint endpoint) =>
        routes.MapGet("/{account}/{table}()", endpoint.QueryAsync);

    public async Task QueryAsync(HttpContext context, string account, string table)
    {
        var tables = store();
        tables.CountRequest();
        var request = context.Request;
        var response = context.Response;
        response.Headers["x-ms-request-id"] = Guid.NewGuid().ToString();
        response.Headers["x-ms-version"] = request.Headers["x-ms-version"].ToString() is { Length: > 0 } version ? version : ServiceVersion;
        if (request.Headers["x-ms-client-request-id"].ToString() is { Length: > 0 } clientRequestId)
        {
            response.Headers["x-ms-client-request-id"] = clientRequestId;
        }

        var metadata = Metadata(request);
        if (metadata is null)
        {
            await ErrorAsync(context, NoMetadata, StatusCodes.Status415UnsupportedMediaType, "AtomFormatNotSupported",
                "The fake Table service answers only application/json;odata=minimalmetadata or application/json;odata=nometadata.");
            return;
        }
        if (!string.Equals(account, TableStore.AccountName, StringComparison.Ordinal))
        {
            await ErrorAsync(context, metadata, StatusCodes.Status404NotFound, "ResourceNotFound", "The specified resource does not exist.");
            return;
        }
        if (Unauthenticated(request, tables) is { } refusal)
        {
            await ErrorAsync(context, metadata, refusal.StatusCode, refusal.Code, refusal.Message);
            return;
        }
        if (tables.Fault?.Invoke(table) is { } fault)
        {
            await ErrorAsync(context, metadata, fault.StatusCode, fault.Code, fault.Message);
            return;
        }
        if (InvalidQuery(request.Query, out var filter, out var top) is { } invalid)
        {
            await ErrorAsync(context, metadata, StatusCodes.Status400BadRequest, "InvalidInput", $"One of the request inputs is not valid. {invalid}");
            return;
        }
        if (tables.Rows(table) is not { } rows)
        {
            await ErrorAsync(context, metadata, StatusCodes.Status404NotFound, "TableNotFound", "The table specified does not exist.");
            return;
        }

        var nextPartition = request.Query["NextPartitionKey"].ToString();
        var nextRow = request.Query["NextRowKey"].ToString();
        var matching = rows
            .Where(row => nextPartition.Length == 0
                || StringComparer.Ordinal.Compare(row.PartitionKey, nextPartition) is var byPartition && (byPartition > 0 || byPartition == 0 && StringComparer.Ordinal.Compare(row.RowKey, nextRow) >= 0))
            .Where(row => filter?.Matches(row) ?? true)
            .ToList();
        var page = matching.Take(top).ToList();
        if (matching.Count > page.Count)
        {
            response.Headers["x-ms-continuation-NextPartitionKey"] = matching[page.Count].PartitionKey;
            response.Headers["x-ms-continuation-NextRowKey"] = matching[page.Count].RowKey;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ContentType(metadata);
        response.Headers["DataServiceVersion"] = "3.0;";
        response.Headers.CacheControl = "no-cache";
        await using var writer = new Utf8JsonWriter(response.Body);
        writer.WriteStartObject();
        if (metadata == MinimalMetadata)
        {
            writer.WriteString("odata.metadata", $"{request.Scheme}://{request.Host}/{account}/$metadata#{table}");
        }
        writer.WriteStartArray("value");
        foreach (var row in page)
        {
            writer.WriteStartObject();
            if (metadata == MinimalMetadata)
            {
                writer.WriteString("odata.etag", ETag(row.Timestamp));
            }
            writer.WriteString("PartitionKey", row.PartitionKey);
            writer.WriteString("RowKey", row.RowKey);
            writer.WriteString("Timestamp", Timestamp(row.Timestamp));
            foreach (var (name, value) in row.Properties)
            {
                writer.WriteString(name, value);
            }
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted);
    }

    /// <summary>
    /// <c>minimalmetadata</c> or <c>nometadata</c> as <c>$format</c> asks (it wins over <c>Accept</c>, as in the service),
    /// else as <c>Accept</c> asks; minimal metadata when neither says; null for anything the fake does not serve.
    /// </summary>
    private static string? Metadata(HttpRequest request)
    {
        var format = request.Query["$format"].ToString();
        if (format.Length > 0)
        {
            return MediaTypeHeaderValue.TryParse(format, out var formatType) ? JsonMetadata(formatType) : null;
        }
        var accept = request.Headers.Accept.ToString();
        if (accept.Length == 0)
        {
            return MinimalMetadata;
        }
        return accept.Split(',').Select(part => MediaTypeHeaderValue.TryParse(part, out var type) ? JsonMetadata(type) : null)
            .FirstOrDefault(level => level is not null);
    }

    private static string? JsonMetadata(MediaTypeHeaderValue type)
    {
        if (!string.Equals(type.MediaType, "application/json", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var odata = type.Parameters.FirstOrDefault(p => string.Equals(p.Name, "odata", StringComparison.OrdinalIgnoreCase))?.Value;
        return odata switch
        {
            null => MinimalMetadata,
            _ when string.Equals(odata, MinimalMetadata, StringComparison.OrdinalIgnoreCase) => MinimalMetadata,
            _ when string.Equals(odata, NoMetadata, StringComparison.OrdinalIgnoreCase) => NoMetadata,
            _ => null,
        };
    }

    private static string ContentType(string metadata) => $"application/json;odata={metadata};streaming=true;charset=utf-8";

    /// <summary>Why the request is not authenticated (status, code, message), or null when it is.</summary>
    private (int StatusCode, string Code, string Message)? Unauthenticated(HttpRequest request, TableStore tables)
    {
        const string AuthenticationFailed = "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.";
        var header = request.Headers.Authorization.ToString();
        var space = header.IndexOf(' ', StringComparison.Ordinal);
        if (header.Length == 0 || space <= 0)
        {
            return (StatusCodes.Status401Unauthorized, "NoAuthenticationInformation",
                "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.");
        }
        var scheme = header[..space];
        var parameter = header[(space + 1)..].Trim();
        switch (scheme)
        {
            case "SharedKey" or "SharedKeyLite":
                return TableSharedKey.Refuse(request, scheme, parameter, TableStore.AccountName, tables.AccountKey) is { } reason
                    ? (StatusCodes.Status403Forbidden, "AuthenticationFailed", $"{AuthenticationFailed} {reason}")
                    : null;
            case "Bearer":
                if (directory.Find(parameter) is not { } token || token.ExpiresOn <= DateTimeOffset.UtcNow)
                {
                    return (StatusCodes.Status401Unauthorized, "InvalidAuthenticationInfo",
                        "Server failed to authenticate the request. The token was not issued by the authority, or it has expired.");
                }
                if (!string.Equals(token.Audience, TableStore.Resource, StringComparison.OrdinalIgnoreCase))
                {
                    return (StatusCodes.Status401Unauthorized, "InvalidAuthenticationInfo",
                        $"Server failed to authenticate the request. Audience validation failed. Audience did not match: expected {TableStore.Resource}, found {token.Audience}.");
                }
                return null;
            default:
                return (StatusCodes.Status403Forbidden, "AuthenticationFailed", $"{AuthenticationFailed} Unsupported authorization scheme '{scheme}'.");
        }
    }

    /// <summary>What is wrong with the query options, or null with the parsed filter (null for none) and page size.</summary>
    private static string? InvalidQuery(IQueryCollection query, out TableFilter? filter, out int top)
    {
        filter = null;
        top = MaxTop;
        if (query.Keys.FirstOrDefault(key => key.StartsWith('$') && !QueryOptions.Contains(key)) is { } unsupported)
        {
            return $"The fake Table service does not support the query option {unsupported}.";
        }
        if (query.TryGetValue("$top", out var topText)
            && (!int.TryParse(topText, NumberStyles.None, CultureInfo.InvariantCulture, out top) || top is < 1 or > MaxTop))
        {
            return $"$top must be a whole number from 1 to {MaxTop}.";
        }
        if (query.ContainsKey("NextRowKey") != query.ContainsKey("NextPartitionKey"))
        {
            return "NextPartitionKey and NextRowKey go together.";
        }
        if (query.TryGetValue("$filter", out var filterText))
        {
            if (!TableFilter.TryParse(filterText.ToString(), out var parsed, out var error))
            {
                return error;
            }
            filter = parsed;
        }
        return null;
    }

    /// <summary>Writes <c>{"odata.error":{"code","message":{"lang","value"}}}</c> with the service's RequestId and Time lines.</summary>
    private static async Task ErrorAsync(HttpContext context, string metadata, int statusCode, string code, string message)
    {
        var response = context.Response;
        response.StatusCode = statusCode;
        response.ContentType = ContentType(metadata);
        response.Headers["x-ms-error-code"] = code;
        var value = $"{message}\nRequestId:{response.Headers["x-ms-request-id"]}\nTime:{DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture)}";
        var body = new Dictionary<string, object>
        {
            ["odata.error"] = new { code, message = new { lang = "en-US", value } },
        };
        await JsonSerializer.SerializeAsync(response.Body, body, cancellationToken: context.RequestAborted);
    }

    private static string Timestamp(DateTimeOffset timestamp) =>
        timestamp.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);

    /// <summary>The service's weak ETag: the timestamp, with its colons percent-encoded.</summary>
    private static string ETag(DateTimeOffset timestamp) =>
        $"W/\"datetime'{Uri.EscapeDataString(Timestamp(timestamp))}'\"";
}
