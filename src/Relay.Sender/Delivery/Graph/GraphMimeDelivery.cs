using Azure.Identity;
using Microsoft.Extensions.Options;
using Microsoft.Graph.Models.ODataErrors;
using Microsoft.Graph.Users.Item.SendMail;
using Microsoft.Kiota.Abstractions;
using Microsoft.Kiota.Abstractions.Serialization;
using Microsoft.Kiota.Http.HttpClientLibrary.Middleware.Options;
using System.Buffers.Text;

namespace Relay.Sender.Delivery.Graph;

/// <summary>
/// Sends a message as raw MIME through <c>POST /users/{mailbox}/sendMail</c> (base64, <c>text/plain</c>), which keeps
/// headers, charsets, S/MIME and structure as the client wrote them. Graph's 202 becomes 250; every other outcome is
/// mapped by <see cref="GraphErrorMapper"/>.
/// </summary>
public sealed partial class GraphMimeDelivery(
    GraphClientProvider clients, IOptions<GraphOptions> options, ILogger<GraphMimeDelivery> logger) : IMessageDelivery
{
    private static readonly Dictionary<string, ParsableFactory<IParsable>> ErrorMapping = new()
    {
        ["XXX"] = ODataError.CreateFromDiscriminatorValue,
    };

    public string Name => "graph";

    public async Task<DeliveryResult> DeliverAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        var limit = options.Value.MimeSizeLimit;
        if (message.Body.Length > limit)
        {
            return new DeliveryResult(Replies.Create(552, "5.3.4",
                $"Message exceeds the {limit} bytes Microsoft Graph accepts in one request"));
        }

        var composed = await MimeComposer.ComposeAsync(message, options.Value, cancellationToken);
        if (composed.Mime is not { } mime)
        {
            return new DeliveryResult(composed.Refusal!);
        }
        var base64 = new byte[Base64.GetMaxEncodedToUtf8Length(mime.Length)];
        Base64.EncodeToUtf8(mime, base64, out _, out _);

        var graph = clients.CreateClient(message.Principal.Credential);
        var request = graph.Users[message.Mailbox].SendMail.ToPostRequestInformation(new SendMailPostRequestBody());
        // The SDK has no MIME overload: replace the JSON body with the base64 MIME (graph-facts §2).
        request.Headers.Clear();
        request.SetStreamContent(new MemoryStream(base64), "text/plain");
        var inspection = new HeadersInspectionHandlerOption { InspectResponseHeaders = true };
        request.AddRequestOptions([inspection]);

        try
        {
            await graph.RequestAdapter.SendNoContentAsync(request, ErrorMapping, cancellationToken);
            return new DeliveryResult(Replies.Queued(message.QueueId), RequestId(inspection.ResponseHeaders));
        }
        catch (ODataError error)
        {
            var code = error.Error?.Code;
            LogGraphRefused(logger, message.QueueId, error.ResponseStatusCode, code);
            return new DeliveryResult(GraphErrorMapper.Map(error.ResponseStatusCode, code), error.Error?.InnerError?.RequestId);
        }
        catch (ApiException error)
        {
            LogGraphRefused(logger, message.QueueId, error.ResponseStatusCode, null);
            return new DeliveryResult(GraphErrorMapper.Map(error.ResponseStatusCode, null));
        }
        catch (AuthenticationFailedException error)
        {
            // MSAL's inner message names the AADSTS code (never the secret); the outer one stops short of it.
            LogTokenFailed(logger, message.QueueId, error.InnerException?.Message ?? error.Message);
            return new DeliveryResult(GraphErrorMapper.TokenUnavailable);
        }
        catch (Exception error) when (error is HttpRequestException
                                          || error is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LogNoResponse(logger, message.QueueId, message.Headers.MessageId, error.GetType().Name);
            return new DeliveryResult(GraphErrorMapper.NoResponse);
        }
    }

    private static string? RequestId(RequestHeaders headers) =>
        headers.TryGetValue("request-id", out var values) ? values.FirstOrDefault() : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Graph refused message {QueueId}: HTTP {Status} {GraphCode}")]
    private static partial void LogGraphRefused(ILogger logger, string queueId, int status, string? graphCode);

    [LoggerMessage(Level = LogLevel.Error, Message = "Message {QueueId} not sent: Relay could not get a Graph token: {Reason}")]
    private static partial void LogTokenFailed(ILogger logger, string queueId, string reason);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "No response from Graph for message {QueueId} (Message-ID {MessageId}): it may have been sent; answered 451 ({Error})")]
    private static partial void LogNoResponse(ILogger logger, string queueId, string? messageId, string error);
}
