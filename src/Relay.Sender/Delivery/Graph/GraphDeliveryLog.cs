using Microsoft.Kiota.Abstractions;

namespace Relay.Sender.Delivery.Graph;

/// <summary>What both Graph paths (MIME and draft upload) say about a message Graph did not take, in the same words.</summary>
internal static partial class GraphDeliveryLog
{
    /// <summary>The <c>request-id</c> Graph answered with, which Microsoft support asks for.</summary>
    public static string? RequestId(RequestHeaders headers) =>
        headers.TryGetValue("request-id", out var values) ? values.FirstOrDefault() : null;

    /// <summary>
    /// One line for a failed delivery: a warning that the message may have been sent when the request that sends it got
    /// no answer (<paramref name="mayHaveBeenSent"/>), an error when Relay had no token, otherwise Graph's refusal.
    /// </summary>
    public static void Failure(ILogger logger, OutboundMessage message, string path, int attempts, GraphCallException failure, bool mayHaveBeenSent)
    {
        if (mayHaveBeenSent)
        {
            LogMayHaveBeenSent(logger, message.QueueId, message.Headers.MessageId, path, attempts, failure.Message);
        }
        else if (failure.Failure == GraphCallFailure.NoToken)
        {
            LogTokenFailed(logger, message.QueueId, failure.Message);
        }
        else
        {
            LogGraphRefused(logger, message.QueueId, path, attempts, failure.Message, failure.Reply.Code, failure.Reply.EnhancedCode);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Graph did not take message {QueueId} ({Path}) in {Attempts} attempts ({Reason}); the client hears {ReplyCode} {EnhancedCode}")]
    private static partial void LogGraphRefused(ILogger logger, string queueId, string path, int attempts, string reason, int replyCode, string enhancedCode);

    [LoggerMessage(Level = LogLevel.Error, Message = "Message {QueueId} not sent: Relay could not get a Graph token: {Reason}")]
    private static partial void LogTokenFailed(ILogger logger, string queueId, string reason);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Message {QueueId} (Message-ID {MessageId}) may have been sent: no clear answer from Graph ({Path}) after {Attempts} attempts, so it was not tried again and the client was answered 451 ({Reason})")]
    private static partial void LogMayHaveBeenSent(ILogger logger, string queueId, string? messageId, string path, int attempts, string reason);
}
