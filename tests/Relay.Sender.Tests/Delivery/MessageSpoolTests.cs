using Relay.Sender.Delivery;

namespace Relay.Sender.Tests.Delivery;

public sealed class MessageSpoolTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "relay-spool-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static byte[] Body(int length) => Enumerable.Range(0, length).Select(i => (byte)(i * 31 % 251)).ToArray();

    private static async Task WriteInChunksAsync(MessageSpool spool, byte[] body, int chunkSize)
    {
        for (var offset = 0; offset < body.Length; offset += chunkSize)
        {
            await spool.WriteAsync(body.AsMemory(offset, Math.Min(chunkSize, body.Length - offset)), CancellationToken.None);
        }
    }

    private static byte[] ReadAll(MessageSpool spool)
    {
        var copy = new MemoryStream();
        spool.Rewind().CopyTo(copy);
        return copy.ToArray();
    }

    private string[] SpoolFiles() => Directory.Exists(_directory) ? Directory.GetFiles(_directory) : [];

    [Fact]
    public async Task BodyUnderTheThresholdStaysInMemory()
    {
        var body = Body(1000);
        await using var spool = new MessageSpool(_directory, memoryThreshold: 4096);

        await WriteInChunksAsync(spool, body, 100);

        Assert.Empty(SpoolFiles());
        Assert.Equal(1000, spool.Length);
        Assert.Equal(body, ReadAll(spool));
    }

    [Fact]
    public async Task BodyExactlyAtTheThresholdStaysInMemory()
    {
        var body = Body(4096);
        await using var spool = new MessageSpool(_directory, memoryThreshold: 4096);

        await WriteInChunksAsync(spool, body, 1024);

        Assert.Empty(SpoolFiles());
        Assert.Equal(body, ReadAll(spool));
    }

    [Fact]
    public async Task BodyOverTheThresholdSpillsToAFileInTheSpoolDirectoryWithIdenticalContent()
    {
        var body = Body(10_000);
        var spool = new MessageSpool(_directory, memoryThreshold: 4096);
        try
        {
            await WriteInChunksAsync(spool, body, 700);

            var file = Assert.Single(SpoolFiles());
            Assert.EndsWith(".spool", file);
            Assert.Equal(10_000, spool.Length);
            Assert.Equal(body, ReadAll(spool));
            Assert.Equal(body, ReadAll(spool));
        }
        finally
        {
            await spool.DisposeAsync();
        }

        Assert.Empty(SpoolFiles());
    }

    [Theory]
    [InlineData(5000, 4096)] // one chunk larger than the threshold spills at once
    [InlineData(1, 0)]       // a zero threshold spools every non-empty body
    public async Task AChunkOverTheThresholdSpillsAtOnce(int size, int threshold)
    {
        var body = Body(size);
        var spool = new MessageSpool(_directory, memoryThreshold: threshold);

        await spool.WriteAsync(body, CancellationToken.None);

        Assert.Single(SpoolFiles());
        Assert.Equal(body, ReadAll(spool));
        await spool.DisposeAsync();
        Assert.Empty(SpoolFiles());
    }

    [Fact]
    public async Task SeparateSpoolsUseSeparateFiles()
    {
        var first = new MessageSpool(_directory, memoryThreshold: 10);
        var second = new MessageSpool(_directory, memoryThreshold: 10);

        await first.WriteAsync(Body(100), CancellationToken.None);
        await second.WriteAsync(Body(200), CancellationToken.None);

        Assert.Equal(2, SpoolFiles().Length);
        Assert.Equal(Body(100), ReadAll(first));
        Assert.Equal(Body(200), ReadAll(second));
        await first.DisposeAsync();
        Assert.Single(SpoolFiles());
        await second.DisposeAsync();
        Assert.Empty(SpoolFiles());
    }
}
