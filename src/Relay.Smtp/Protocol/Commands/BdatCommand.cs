using System.Globalization;

namespace Relay.Smtp.Protocol;

/// <summary>
/// BDAT (RFC 3030 CHUNKING): <c>BDAT size [LAST]</c> followed by exactly <c>size</c> octets, no dot-stuffing. The first
/// chunk opens the submission to Relay.Sender; each chunk is answered once it is read, the LAST one with the verdict.
/// A chunk that cannot be taken is still read to its end, so its bytes never run as commands.
/// </summary>
public sealed class BdatCommand : ISmtpCommand
{
    public const string Command = "BDAT";
    private const string Usage = "BDAT size [LAST]";

    public string Verb => Command;

    public async ValueTask<bool> ExecuteAsync(SmtpSession session, string argument, CancellationToken cancellationToken)
    {
        if (!TryParse(argument, out var size, out var last))
        {
            // Without a size the chunk's end is unknown; nothing can be skipped, so the session cannot go on safely.
            session.Close(SmtpReplies.SyntaxError(Usage));
            return false;
        }

        var transaction = session.Transaction!;
        if (transaction.Upload is null)
        {
            var filter = ContentFilter.ForChunks(session.Options.BareLineFeed, session.Options.MaxTextLineLength);
            transaction.Upload = await MessageUpload.BeginAsync(session, transaction, filter);
            if (transaction.Upload is null)
            {
                session.EndTransaction();
                if (await DiscardAsync(session, size))
                {
                    session.Reply(SmtpReplies.ServiceUnavailable);
                }
                return true;
            }
        }

        var upload = transaction.Upload;
        upload.Filter.BeginChunk(size);
        if (size > 0 && await upload.ReadAsync(session) == DataReadStatus.EndOfStream)
        {
            session.Abandon();
            return false;
        }
        if (upload.TooBig)
        {
            // RFC 3030 §4: the chunk is read and the transaction fails; the client must not send more chunks.
            session.Reply(SmtpReplies.MessageTooBig);
            session.EndTransaction();
            return true;
        }
        if (!last)
        {
            session.Reply(SmtpReplies.ChunkReceived(size));
            return true;
        }
        session.Reply(await upload.CompleteAsync(session.Options.SubmissionTimeout));
        session.EndTransaction();
        return true;
    }

    public async ValueTask RefuseAsync(SmtpSession session, string argument, SmtpReply reply)
    {
        if (!TryParse(argument, out var size, out _))
        {
            session.Close(SmtpReplies.SyntaxError(Usage));
            return;
        }
        if (await DiscardAsync(session, size))
        {
            session.Error(reply);
        }
    }

    /// <summary>Reads the chunk to nowhere; false (and the session abandoned) when the client left first.</summary>
    private static async ValueTask<bool> DiscardAsync(SmtpSession session, long size)
    {
        if (await MessageUpload.DiscardChunkAsync(session, size) == DataReadStatus.EndOfStream)
        {
            session.Abandon();
            return false;
        }
        return true;
    }

    private static bool TryParse(string argument, out long size, out bool last)
    {
        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        last = parts.Length == 2 && parts[1].Equals("LAST", StringComparison.OrdinalIgnoreCase);
        size = 0;
        return parts.Length == 1 || last
            ? parts.Length > 0 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out size)
            : false;
    }
}
