using System.Text;
using Relay.Bench.Load;

namespace Relay.Bench.Tests;

public class DataReplyTimerTests
{
    [Fact]
    public void TheReplyAfterTheEndOfDataIsTimedAndCommandRepliesAreNot()
    {
        var timer = new DataReplyTimer();

        Client(timer, "MAIL FROM:<a@contoso.com>\r\nRCPT TO:<b@fabrikam.com>\r\nDATA\r\n");
        Server(timer, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
        Client(timer, "Subject: x\r\n\r\nbody\r\n.\r\n");
        Server(timer, "250 2.0.0 Ok: queued as 1\r\n");
        Client(timer, "QUIT\r\n");
        Server(timer, "221 2.0.0 Bye\r\n");

        var sample = Assert.Single(timer.Milliseconds);
        Assert.True(sample >= 0);
    }

    [Fact]
    public void AnEndOfDataMarkerSplitAcrossWritesIsFound()
    {
        var timer = new DataReplyTimer();

        Client(timer, "body\r");
        Client(timer, "\n.");
        Client(timer, "\r\n");
        Server(timer, "250 2.0.0 Ok\r\n");

        Assert.Single(timer.Milliseconds);
    }

    [Fact]
    public void ADotLineInsideTheMessageIsNotTheEnd()
    {
        var timer = new DataReplyTimer();

        // Dot-stuffed: a line that starts with "." is sent as "..", so CRLF.CRLF never appears before the end.
        Client(timer, "line\r\n..\r\nmore");
        Server(timer, "451 4.3.0 Try again\r\n");

        Assert.Empty(timer.Milliseconds);
    }

    private static void Client(DataReplyTimer timer, string text)
    {
        // Surround the bytes with others, as MailKit's buffers do, to check that offset and count are honoured.
        var bytes = Encoding.ASCII.GetBytes("##" + text + "##");
        timer.LogClient(bytes, 2, bytes.Length - 4);
    }

    private static void Server(DataReplyTimer timer, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        timer.LogServer(bytes, 0, bytes.Length);
    }
}
