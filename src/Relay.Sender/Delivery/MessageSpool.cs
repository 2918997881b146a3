namespace Relay.Sender.Delivery;

/// <summary>
/// Holds one message body while it is delivered: in memory up to a threshold, then in a temporary file opened with
/// <see cref="FileOptions.DeleteOnClose"/>, so the file is gone on every path, crash included. The file is not
/// buffered: a full disk fails the write that filled it (the caller answers 452), never a later flush on dispose.
/// </summary>
public sealed class MessageSpool(string directory, int memoryThreshold) : IAsyncDisposable
{
    private Stream _stream = new MemoryStream();

    public long Length => _stream.Length;

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken)
    {
        if (_stream is MemoryStream memory && memory.Length + chunk.Length > memoryThreshold)
        {
            Directory.CreateDirectory(directory);
            var file = new FileStream(Path.Combine(directory, $"{Guid.NewGuid():N}.spool"), FileMode.CreateNew,
                FileAccess.ReadWrite, FileShare.None, bufferSize: 0, FileOptions.Asynchronous | FileOptions.DeleteOnClose);
            try
            {
                memory.Position = 0;
                await memory.CopyToAsync(file, cancellationToken);
            }
            catch
            {
                // Closing deletes it: a spool file that could not be filled must not hold the disk until finalization.
                await file.DisposeAsync();
                throw;
            }
            _stream = file;
        }
        await _stream.WriteAsync(chunk, cancellationToken);
    }

    /// <summary>The body from its first byte. The stream belongs to the spool: do not dispose it.</summary>
    public Stream Rewind()
    {
        _stream.Position = 0;
        return _stream;
    }

    public ValueTask DisposeAsync() => _stream.DisposeAsync();
}
