using System.Buffers;
using System.Text;
using Relay.Smtp.Protocol;

namespace Relay.Smtp.Tests;

public class SmtpLineParserTests
{
    private static ReadOnlySequence<byte> Bytes(string text) => new(Encoding.ASCII.GetBytes(text));

    [Fact]
    public void ALineIsReadWithoutItsCrLfAndTheRestStays()
    {
        var buffer = Bytes("NOOP\r\nQUIT\r\n");
        var discarding = false;

        var status = SmtpLineParser.TryReadLine(ref buffer, 512, ref discarding, out var line);

        Assert.Equal(LineParseStatus.Line, status);
        Assert.Equal("NOOP", Encoding.ASCII.GetString(line));
        Assert.Equal("QUIT\r\n", Encoding.ASCII.GetString(buffer));
    }

    [Fact]
    public void AnIncompleteLineConsumesNothing()
    {
        var buffer = Bytes("NOO");
        var discarding = false;

        var status = SmtpLineParser.TryReadLine(ref buffer, 512, ref discarding, out _);

        Assert.Equal(LineParseStatus.NeedMoreData, status);
        Assert.Equal(3, buffer.Length);
        Assert.False(discarding);
    }

    [Fact]
    public void AnOverlongLineWithoutLineFeedIsDiscardedAsItArrivesAndReportedOnceItEnds()
    {
        var discarding = false;
        var first = Bytes(new string('A', 600));

        Assert.Equal(LineParseStatus.NeedMoreData, SmtpLineParser.TryReadLine(ref first, 512, ref discarding, out _));
        Assert.True(first.IsEmpty);
        Assert.True(discarding);

        var second = Bytes("AAAA\r\nNOOP\r\n");
        Assert.Equal(LineParseStatus.TooLong, SmtpLineParser.TryReadLine(ref second, 512, ref discarding, out _));
        Assert.False(discarding);
        Assert.Equal(LineParseStatus.Line, SmtpLineParser.TryReadLine(ref second, 512, ref discarding, out var line));
        Assert.Equal("NOOP", Encoding.ASCII.GetString(line));
    }

    [Theory]
    [InlineData(510, LineParseStatus.Line)]    // 510 + CRLF = 512: the RFC 5321 limit exactly
    [InlineData(511, LineParseStatus.TooLong)]
    public void TheLimitCountsTheCrLf(int length, LineParseStatus expected)
    {
        var buffer = Bytes(new string('A', length) + "\r\n");
        var discarding = false;

        Assert.Equal(expected, SmtpLineParser.TryReadLine(ref buffer, 512, ref discarding, out _));
    }
}
