using System.Buffers.Text;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Relay.Testing;

/// <summary>
/// <c>POST /v1.0/users/{id}/sendMail</c> and <c>POST /v1.0/me/sendMail</c> with a base64 MIME (<c>text/plain</c>) or JSON
/// body. An app-only token may send as any mailbox; a delegated token only as its own user (<c>/me</c>, or <c>/users/</c>
/// with the user's UPN or object ID), otherwise 403 <c>ErrorSendAsDenied</c>.
/// </summary>
internal sealed class SendMailEndpoint(EntraDirectory directory, RequestJournal journal)
{
    /// <summary>Graph's request size limit: 4 MiB of body, whatever Content-Length claims.</summary>
    public const int MaxRequestBytes = 4 * 1024 * 1024;

    public Func<SendMailRequest, GraphFault?>? Fault { get; set; }

    public Task<IResult> SendAsync(HttpContext context, string id) => SendCoreAsync(context, id);

    public Task<IResult> SendFromMeAsync(HttpContext context) => SendCoreAsync(context, mailbox: null);

    /// <param name="context">The request.</param>
    /// <param name="mailbox">The <c>{id}</c> of <c>/users/{id}</c>, or null for <c>/me</c>.</param>
    private async Task<IResult> SendCoreAsync(HttpContext context, string? mailbox)
    {
        if (Authenticate(context.Request) is not { } token)
        {
            return new GraphErrorResult(Unauthenticated(context.Request));
        }

        if (mailbox is null && token.User is null)
        {
            return new GraphErrorResult(new GraphFault(StatusCodes.Status400BadRequest, "BadRequest", "/me request is only valid with delegated authentication flow."));
        }

        if (token.User is { } user && mailbox is not null
            && !mailbox.Equals(user.UserPrincipalName, StringComparison.OrdinalIgnoreCase)
            && !mailbox.Equals(user.ObjectId, StringComparison.OrdinalIgnoreCase))
        {
            return new GraphErrorResult(new GraphFault(StatusCodes.Status403Forbidden, "ErrorSendAsDenied",
                "The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account. Cannot submit message."));
        }

        var id = mailbox ?? token.User!.UserPrincipalName;
        var principal = token.UserPrincipalName ?? token.ClientId;

        if (await ReadBodyAsync(context.Request.Body, context.RequestAborted) is not { } body)
        {
            return new GraphErrorResult(new GraphFault(StatusCodes.Status413PayloadTooLarge, "RequestEntityTooLarge", "The maximum request length supported is 4MB."));
        }

        var mediaType = MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var contentType)
            ? contentType.MediaType?.ToLowerInvariant()
            : null;
        SendMailRequest request;
        switch (mediaType)
        {
            case "text/plain":
                if (DecodeBase64(body) is not { } mime)
                {
                    return new GraphErrorResult(new GraphFault(StatusCodes.Status400BadRequest, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."));
                }

                request = new SendMailRequest(id, SendMailFormat.Mime, mime, null, journal.CountAttempt(id)) { Principal = principal, IsDelegated = token.User is not null };
                break;

            case "application/json":
                if (ParseJson(body) is not { } json)
                {
                    return new GraphErrorResult(new GraphFault(StatusCodes.Status400BadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."));
                }

                if (!HasMessageObject(json))
                {
                    return new GraphErrorResult(new GraphFault(StatusCodes.Status400BadRequest, "ErrorInvalidRequest", "The 'message' parameter is required."));
                }

                request = new SendMailRequest(id, SendMailFormat.Json, null, json, journal.CountAttempt(id)) { Principal = principal, IsDelegated = token.User is not null };
                break;

            default:
                return new GraphErrorResult(new GraphFault(StatusCodes.Status415UnsupportedMediaType, "UnsupportedMediaType", $"The content type '{context.Request.ContentType}' is not supported for sendMail; use application/json or text/plain."));
        }

        if (Fault?.Invoke(request) is { } fault)
        {
            return new GraphErrorResult(fault);
        }

        journal.Accept(new SentMail(request.Mailbox, request.Format, request.Mime, request.Json, token.Value, GraphRequestIds.RequestId(context))
        {
            Principal = request.Principal,
            IsDelegated = request.IsDelegated,
        });
        return Results.StatusCode(StatusCodes.Status202Accepted);
    }

    /// <summary>The bearer token when it is one this fake issued and it has not expired.</summary>
    private IssuedToken? Authenticate(HttpRequest request) =>
        BearerToken(request) is { } value && directory.Find(value) is { } token && token.ExpiresOn > DateTimeOffset.UtcNow
            ? token
            : null;

    private GraphFault Unauthenticated(HttpRequest request)
    {
        var message = BearerToken(request) switch
        {
            null => "Access token is empty.",
            var value when directory.Find(value) is null => "IDX14100: JWT is not well formed, there are no dots (.).",
            _ => "Lifetime validation failed, the token is expired.",
        };
        return new GraphFault(StatusCodes.Status401Unauthorized, "InvalidAuthenticationToken", message);
    }

    private static string? BearerToken(HttpRequest request) =>
        AuthenticationHeaderValue.TryParse(request.Headers.Authorization, out var authorization)
        && authorization.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase)
        && !string.IsNullOrEmpty(authorization.Parameter)
            ? authorization.Parameter
            : null;

    /// <summary>The whole body, or null as soon as it grows past <see cref="MaxRequestBytes"/>.</summary>
    private static async Task<byte[]?> ReadBodyAsync(Stream body, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxRequestBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>Standard base64; CR, LF, tabs and spaces between characters are ignored.</summary>
    private static byte[]? DecodeBase64(byte[] body)
    {
        var decoded = new byte[Base64.GetMaxDecodedFromUtf8Length(body.Length)];
        return Convert.TryFromBase64String(Encoding.ASCII.GetString(body), decoded, out var length)
            ? decoded[..length]
            : null;
    }

    private static JsonElement? ParseJson(byte[] body)
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

    /// <summary>Graph binds action parameters case-insensitively: the SDK sends <c>Message</c>, the docs show <c>message</c>.</summary>
    private static bool HasMessageObject(JsonElement json) =>
        json.ValueKind == JsonValueKind.Object
        && json.EnumerateObject().Any(property =>
            property.Name.Equals("message", StringComparison.OrdinalIgnoreCase) && property.Value.ValueKind == JsonValueKind.Object);
}
