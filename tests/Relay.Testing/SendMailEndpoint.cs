using Microsoft.AspNetCore.Http;

namespace Relay.Testing;

/// <summary>
/// <c>POST /v1.0/users/{id}/sendMail</c> and <c>POST /v1.0/me/sendMail</c> with a base64 MIME (<c>text/plain</c>) or JSON
/// body. An app-only token may send as any mailbox; a delegated token only as its own user (<c>/me</c>, or <c>/users/</c>
/// with the user's UPN or object ID), otherwise 403 <c>ErrorSendAsDenied</c>. Runs through <see cref="GraphPipeline"/>
/// (concurrency limit, latency, <see cref="FakeMicrosoftCloud.GraphFault"/>) before <see cref="Fault"/> is asked.
/// </summary>
internal sealed class SendMailEndpoint(GraphPipeline pipeline, RequestJournal journal)
{
    /// <summary>Graph's request size limit: 4 MiB of body, whatever Content-Length claims.</summary>
    public const int MaxRequestBytes = GraphJson.MaxRequestBytes;

    public Func<SendMailRequest, GraphFault?>? Fault { get; set; }

    public Task SendAsync(HttpContext context, string id) => SendCoreAsync(context, id);

    public Task SendFromMeAsync(HttpContext context) => SendCoreAsync(context, mailbox: null);

    /// <param name="context">The request.</param>
    /// <param name="mailbox">The <c>{id}</c> of <c>/users/{id}</c>, or null for <c>/me</c>.</param>
    private Task SendCoreAsync(HttpContext context, string? mailbox) =>
        pipeline.Identify(context.Request, mailbox, GraphFault.SendAsDenied(), out var refusal) is { } caller
            ? pipeline.RunAsync(context, caller, GraphOperation.SendMail, messageId: null, () => AcceptAsync(context, caller))
            : new GraphErrorResult(refusal).ExecuteAsync(context);

    private async Task<IResult> AcceptAsync(HttpContext context, GraphCaller caller)
    {
        if (await GraphJson.ReadBodyAsync(context.Request.Body) is not { } body)
        {
            return new GraphErrorResult(GraphFault.RequestTooLarge());
        }

        SendMailRequest request;
        switch (GraphJson.MediaType(context.Request))
        {
            case "text/plain":
                if (GraphJson.DecodeBase64(body) is not { } mime)
                {
                    return new GraphErrorResult(new GraphFault(StatusCodes.Status400BadRequest, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."));
                }

                request = new SendMailRequest(caller.Mailbox, SendMailFormat.Mime, mime, null, journal.CountAttempt(caller.Mailbox));
                break;

            case "application/json":
                if (GraphJson.Parse(body) is not { } json)
                {
                    return new GraphErrorResult(GraphJson.MalformedJson);
                }

                if (GraphJson.Object(json, "message") is not { } message)
                {
                    return new GraphErrorResult(new GraphFault(StatusCodes.Status400BadRequest, "ErrorInvalidRequest", "The 'message' parameter is required."));
                }

                if (GraphJson.CheckInternetMessageHeaders(message) is { } invalidHeaders)
                {
                    return new GraphErrorResult(invalidHeaders);
                }

                request = new SendMailRequest(caller.Mailbox, SendMailFormat.Json, null, json, journal.CountAttempt(caller.Mailbox));
                break;

            default:
                return new GraphErrorResult(new GraphFault(StatusCodes.Status415UnsupportedMediaType, "UnsupportedMediaType", $"The content type '{context.Request.ContentType}' is not supported for sendMail; use application/json or text/plain."));
        }

        request = request with { Principal = caller.Principal, IsDelegated = caller.IsDelegated };
        return await GraphPipeline.WithFaultAsync(Fault?.Invoke(request), () => Accept(context, caller, request), GraphPipeline.Stopping(context));
    }

    private Task<IResult> Accept(HttpContext context, GraphCaller caller, SendMailRequest request)
    {
        journal.Accept(new SentMail(request.Mailbox, request.Format, request.Mime, request.Json, caller.BearerToken, GraphRequestIds.RequestId(context))
        {
            Principal = request.Principal,
            IsDelegated = request.IsDelegated,
        });
        return Task.FromResult(Results.StatusCode(StatusCodes.Status202Accepted));
    }
}
