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
/// headers, charsets, S/MIME and structure as the client wrote them. The request goes through
/// <see cref="GraphCallPolicy"/> (mailbox concurrency, retries, token renewal); Graph's 202 becomes 250, and every
/// other outcome the reply <see cref="GraphErrorMapper"/> gives it. A message whose MIME would exceed
/// <c>Graph:MimeSizeLimit</c> goes through <see cref="GraphUploadDelivery"/> instead: MIME when it fits, else draft and upload.
/// </summary>
public sealed partial class GraphMimeDelivery(
    GraphClientProvider clients, GraphCallPolicy policy, GraphUploadDelivery large, IOptions<GraphOptions> options,
    ILogger<GraphMimeDelivery> logger) : IMessageDelivery
{
    /// <summary>The path in the audit line: one MIME sendMail request.</summary>
    public const string MimePath = "mime";

    private const string Operation = "sendMail";

    private static readonly Dictionary<string, ParsableFactory<IParsable>> ErrorMapping = new()
    {
        ["XXX"] = ODataError.CreateFromDiscriminatorValue,
    };

    public string Name => "graph";

    public async Task<DeliveryResult> DeliverAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        if (message.Body.Length > options.Value.MimeSizeLimit)
        {
            return await large.DeliverAsync(message, cancellationToken);
        }

        var composed = await MimeComposer.ComposeAsync(message, options.Value, cancellationToken);
        if (composed.TooLarge)
        {
            return await large.DeliverAsync(message, cancellationToken);
        }
        if (composed.Mime is not { } mime)
        {
            return new DeliveryResult(composed.Refusal!, Path: MimePath);
        }
        var base64 = new byte[Base64.GetMaxEncodedToUtf8Length(mime.Length)];
        Base64.EncodeToUtf8(mime, base64, out _, out _);

        var credential = message.Principal.Credential;
        var graph = clients.CreateClient(credential);
        var call = policy.Begin(message.Mailbox, rejectedAt => clients.RenewToken(credential, rejectedAt));
        try
        {
            var requestId = await policy.RunAsync(call, Operation, async attemptToken =>
            {
                var request = graph.Users[message.Mailbox].SendMail.ToPostRequestInformation(new SendMailPostRequestBody());
                // The SDK has no MIME overload: replace the JSON body with the base64 MIME (graph-facts §2). A new
                // request each time: the SDK disposes the body once sent.
                request.Headers.Clear();
                request.SetStreamContent(new MemoryStream(base64, writable: false), "text/plain");
                var inspection = new HeadersInspectionHandlerOption { InspectResponseHeaders = true };
                request.AddRequestOptions([inspection]);
                await graph.RequestAdapter.SendNoContentAsync(request, ErrorMapping, attemptToken);
                return GraphDeliveryLog.RequestId(inspection.ResponseHeaders);
            }, cancellationToken);
            return new DeliveryResult(Replies.Queued(message.QueueId), requestId, call.Attempts, MimePath);
        }
        catch (GraphCallException failure)
        {
            GraphDeliveryLog.Failure(logger, message, MimePath, call.Attempts, failure, mayHaveBeenSent: failure.Failure == GraphCallFailure.Unanswered);
            return new DeliveryResult(failure.Reply, call.RequestId, call.Attempts, MimePath);
        }
    }
}
