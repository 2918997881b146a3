using System.Buffers;
using System.Text;
using Relay.Smtp.Protocol;

namespace Relay.Smtp.Tests;

public class ContentFilterTests
{
    public enum Segmentation { Whole, OneByte, ThreeBytes }

    /// <summary>Runs the filter over <paramref name="wire"/> cut into segments; returns content, bytes left after the end, and whether it ended.</summary>
    private static (string Content, string Remainder, bool Ended, ContentFilter Filter) Run(
        string wire, Segmentation segmentation, int destinationSize = 64, BareLineFeedHandling bareLf = BareLineFeedHandling.Normalize)
    {
        var input = Encoding.Latin1.GetBytes(wire);
        var filter = ContentFilter.ForData(bareLf);
        var output = new List<byte>();
        var destination = new byte[destinationSize];
        var step = segmentation switch { Segmentation.OneByte => 1, Segmentation.ThreeBytes => 3, _ => input.Length };
        var position = 0;
        while (position < input.Length)
        {
            var segment = input.AsSpan(position, Math.Min(step, input.Length - position));
            while (true)
            {
                var status = filter.Transform(segment, destination, out var consumed, out var written);
                output.AddRange(destination.AsSpan(0, written).ToArray());
                segment = segment[consumed..];
                position += consumed;
                if (status == OperationStatus.Done)
                {
                    return (Encoding.Latin1.GetString(output.ToArray()), wire[position..], true, filter);
                }
                if (status == OperationStatus.NeedMoreData)
                {
                    break;
                }
            }
        }
        return (Encoding.Latin1.GetString(output.ToArray()), string.Empty, false, filter);
    }

    [Theory]
    [InlineData(Segmentation.Whole)]
    [InlineData(Segmentation.OneByte)]
    [InlineData(Segmentation.ThreeBytes)]
    public void EndOfDataIsCrLfDotCrLfAndNothingAfterItIsConsumed(Segmentation segmentation)
    {
        var (content, rest, ended, _) = Run("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n", segmentation);

        Assert.True(ended);
        Assert.Equal("Subject: x\r\n\r\nbody\r\n", content);
        Assert.Equal("QUIT\r\n", rest);
    }

    [Theory]
    [InlineData(Segmentation.Whole)]
    [InlineData(Segmentation.OneByte)]
    public void StuffedDotsLoseOneDotAndDotsInsideLinesStay(Segmentation segmentation)
    {
        var (content, _, ended, _) = Run("..leading\r\n...two\r\nmid.dle\r\n.\r\n", segmentation);

        Assert.True(ended);
        Assert.Equal(".leading\r\n..two\r\nmid.dle\r\n", content);
    }

    [Fact]
    public void AnEmptyMessageEndsAtOnce()
    {
        var (content, _, ended, _) = Run(".\r\n", Segmentation.Whole);

        Assert.True(ended);
        Assert.Equal(string.Empty, content);
    }

    [Fact]
    public void ALineOfSpaceDotDoesNotEndTheMessage()
    {
        // azureSMTPwithOAuth trimmed lines before comparing with "." and ran the rest of the body as commands.
        var (content, _, ended, _) = Run("a\r\n .\r\nMAIL FROM:<x@y>\r\n.\r\n", Segmentation.Whole);

        Assert.True(ended);
        Assert.Equal("a\r\n .\r\nMAIL FROM:<x@y>\r\n", content);
    }

    /// <summary>The SMTP smuggling variants: none of these may end DATA; only the real CRLF.CRLF after them does.</summary>
    [Theory]
    [InlineData("\n.\n")]
    [InlineData("\r.\r")]
    [InlineData("\n.\r\n")]
    [InlineData("\r\n.\n")]
    [InlineData("\r.\r\n")]
    [InlineData("\r\n.\r")]
    [InlineData("\n.\r")]
    [InlineData("\r.\n")]
    public void SmugglingTerminatorsNeverEndData(string fakeTerminator)
    {
        foreach (var segmentation in Enum.GetValues<Segmentation>())
        {
            var wire = $"Subject: a{fakeTerminator}MAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\n.\r\n";
            var (content, rest, ended, _) = Run(wire, segmentation);

            Assert.True(ended);
            Assert.Equal(string.Empty, rest);
            Assert.Contains("MAIL FROM:<evil@x>", content, StringComparison.Ordinal);
            Assert.EndsWith("RCPT TO:<victim@y>\r\n", content, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void BareLineFeedIsNormalizedToCrLfAndReported()
    {
        var (content, _, ended, filter) = Run("one\ntwo\r\n.\r\n", Segmentation.OneByte);

        Assert.True(ended);
        Assert.Equal("one\r\ntwo\r\n", content);
        Assert.True(filter.SawBareLineFeed);
    }

    [Fact]
    public void CleanContentReportsNoBareLineFeed()
    {
        var (_, _, _, filter) = Run("one\r\ntwo\r\n.\r\n", Segmentation.Whole);

        Assert.False(filter.SawBareLineFeed);
    }

    [Fact]
    public void BareCarriageReturnIsKeptAsContent()
    {
        var (content, _, ended, _) = Run("a\rb\r\r\n.\r\n", Segmentation.Whole);

        Assert.True(ended);
        Assert.Equal("a\rb\r\r\n", content);
    }

    [Fact]
    public void ATinyDestinationStillProducesEveryByte()
    {
        var body = string.Concat(Enumerable.Repeat("line of text\r\n..stuffed\r\n", 50));
        var (content, _, ended, _) = Run(body + ".\r\n", Segmentation.ThreeBytes, destinationSize: 2);

        Assert.True(ended);
        Assert.Equal(body.Replace("\n..", "\n.", StringComparison.Ordinal), content);
    }

    [Fact]
    public void WithoutTheTerminatorTheFilterAsksForMore()
    {
        var (content, _, ended, _) = Run("partial\r\n.", Segmentation.Whole);

        Assert.False(ended);
        Assert.Equal("partial\r\n", content);
    }

    /// <summary>Feeds BDAT chunks through one filter, each cut into segments; returns the content and the bytes left over.</summary>
    private static (string Content, string Remainder, ContentFilter Filter) RunChunks(string[] chunks, string trailer, Segmentation segmentation,
        BareLineFeedHandling bareLf = BareLineFeedHandling.Normalize)
    {
        var filter = ContentFilter.ForChunks(bareLf);
        var output = new List<byte>();
        var destination = new byte[7];
        var rest = string.Empty;
        for (var c = 0; c < chunks.Length; c++)
        {
            var input = Encoding.Latin1.GetBytes(chunks[c] + (c == chunks.Length - 1 ? trailer : string.Empty));
            filter.BeginChunk(Encoding.Latin1.GetByteCount(chunks[c]));
            var step = segmentation switch { Segmentation.OneByte => 1, Segmentation.ThreeBytes => 3, _ => input.Length };
            var position = 0;
            var done = false;
            while (!done && position < input.Length)
            {
                var segment = input.AsSpan(position, Math.Min(step, input.Length - position));
                while (true)
                {
                    var status = filter.Transform(segment, destination, out var consumed, out var written);
                    output.AddRange(destination.AsSpan(0, written).ToArray());
                    segment = segment[consumed..];
                    position += consumed;
                    if (status == OperationStatus.Done)
                    {
                        done = true;
                        break;
                    }
                    if (status == OperationStatus.NeedMoreData)
                    {
                        break;
                    }
                }
            }
            rest = Encoding.Latin1.GetString(input, position, input.Length - position);
        }
        return (Encoding.Latin1.GetString(output.ToArray()), rest, filter);
    }

    [Theory]
    [InlineData(Segmentation.Whole)]
    [InlineData(Segmentation.OneByte)]
    [InlineData(Segmentation.ThreeBytes)]
    public void ChunksPassExactlyTheirOctetsWithDotsUntouchedAndCrLfMaySpanChunks(Segmentation segmentation)
    {
        var (content, rest, filter) = RunChunks(["Subject: a\r", "\n\r\n.\r\n..x\r\n"], "BDAT 0 LAST\r\n", segmentation);

        Assert.Equal("Subject: a\r\n\r\n.\r\n..x\r\n", content);
        Assert.Equal("BDAT 0 LAST\r\n", rest);
        Assert.Null(filter.Rejection);
    }

    [Fact]
    public void ABareLineFeedInAChunkIsNormalisedAndACrLfSplitAcrossChunksIsNot()
    {
        var (content, _, filter) = RunChunks(["one\ntwo\r", "\nthree"], string.Empty, Segmentation.OneByte);

        Assert.Equal("one\r\ntwo\r\nthree", content);
        Assert.True(filter.SawBareLineFeed);
    }

    [Fact]
    public void NulAndOverlongLinesAreReportedNotDropped()
    {
        var (content, _, filter) = RunChunks(["a\0b\r\n" + new string('x', 1200) + "\r\n"], string.Empty, Segmentation.Whole);

        Assert.Equal("a\0b\r\n".Length + 1200 + 2, content.Length);
        Assert.True(filter.SawNul);
        Assert.True(filter.SawLongLine);
        Assert.Equal(554, filter.Rejection?.Code);
    }
}
