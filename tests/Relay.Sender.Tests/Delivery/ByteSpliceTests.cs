using System.Text;
using Relay.Sender.Delivery;

namespace Relay.Sender.Tests.Delivery;

public sealed class ByteSpliceTests
{
    private static byte[] Bytes(string text) => Encoding.ASCII.GetBytes(text);

    [Fact]
    public void SplicesApplyInOffsetOrderAfterThePrefix()
    {
        var original = Bytes("0123456789");

        var result = ByteSplice.Apply(Bytes("P:"), original,
        [
            new ByteSplice(7, 2, Bytes("seven-eight")),
            new ByteSplice(0, 1, ReadOnlyMemory<byte>.Empty),
            new ByteSplice(3, 0, Bytes("+")),
        ]);

        Assert.Equal("P:12+3456seven-eight9", Encoding.ASCII.GetString(result));
    }

    [Fact]
    public void NoSplicesIsPrefixAndOriginal()
    {
        Assert.Equal(Bytes("P:abc"), ByteSplice.Apply(Bytes("P:"), Bytes("abc"), []));
    }

    [Theory]
    [InlineData(2, 3, 4, 1)]
    [InlineData(8, 3, 0, 1)]
    [InlineData(-1, 1, 5, 1)]
    public void OverlappingOrOutOfRangeSplicesAreRefused(int offset1, int length1, int offset2, int length2)
    {
        Assert.Throws<ArgumentException>(() => ByteSplice.Apply([], Bytes("0123456789"),
            [new ByteSplice(offset1, length1, Bytes("x")), new ByteSplice(offset2, length2, Bytes("y"))]));
    }
}
