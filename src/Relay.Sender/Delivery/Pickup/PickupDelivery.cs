using System.Text;
using Microsoft.Extensions.Options;

namespace Relay.Sender.Delivery.Pickup;

/// <summary>
/// Writes each message as an <c>.eml</c> file: <c>X-Sender</c>/<c>X-Receiver</c> lines carrying the envelope (the
/// IIS pickup convention), Relay's <c>Received:</c> line, then the message byte for byte. The file is written under a
/// temporary name, flushed to disk and renamed, so a reader never sees half a message.
/// </summary>
public sealed partial class PickupDelivery(IOptions<DeliveryOptions> options, IHostEnvironment environment, ILogger<PickupDelivery> logger)
    : IMessageDelivery
{
    public string Name => "pickup";

    public string Folder { get; } = Path.GetFullPath(options.Value.PickupDirectory, environment.ContentRootPath);

    public async Task<DeliveryResult> DeliverAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Folder);
        var temporary = Path.Combine(Folder, $"{message.QueueId}.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous))
            {
                await file.WriteAsync(Encoding.UTF8.GetBytes(EnvelopeLines(message)), cancellationToken);
                await message.Body.Rewind().CopyToAsync(file, cancellationToken);
                await file.FlushAsync(cancellationToken);
                file.Flush(flushToDisk: true);
            }
            var final = Path.Combine(Folder, $"{message.QueueId}.eml");
            File.Move(temporary, final, overwrite: false);
            LogWritten(logger, message.QueueId, final);
            return new DeliveryResult(Replies.Queued(message.QueueId), Attempts: 1, Path: Name);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A full disk must not keep the half-written file: deleting it gives the space back for the next message.
            File.Delete(temporary);
            var reply = StorageErrors.ReplyFor(ex);
            LogWriteFailed(logger, ex, message.QueueId, Folder, reply.Code, reply.EnhancedCode);
            return new DeliveryResult(reply, Attempts: 1, Path: Name);
        }
    }

    private static string EnvelopeLines(OutboundMessage message)
    {
        var lines = new StringBuilder();
        lines.Append("X-Sender: <").Append(message.Envelope.MailFrom).Append(">\r\n");
        foreach (var recipient in message.Envelope.Recipients)
        {
            lines.Append("X-Receiver: <").Append(recipient).Append(">\r\n");
        }
        return lines.Append(message.Envelope.TraceHeader).ToString();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Message {QueueId} written to {Path}")]
    private static partial void LogWritten(ILogger logger, string queueId, string path);

    [LoggerMessage(Level = LogLevel.Error, Message = "Message {QueueId} could not be written to the pickup directory {Directory}; answered {ReplyCode} {EnhancedCode}")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, string queueId, string directory, int replyCode, string enhancedCode);
}
