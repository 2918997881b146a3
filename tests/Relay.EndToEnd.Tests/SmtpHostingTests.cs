using System.Net.Sockets;
using System.Text;

namespace Relay.EndToEnd.Tests;

/// <summary>What the host around the sessions does: admission by network, and a graceful stop.</summary>
public class SmtpHostingTests
{
    private static readonly string PlainLogin =
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{RelayStack.Account}\0{RelayStack.Password}"));

    [Fact]
    public async Task AClientOutsideTheAllowedNetworksIsTurnedAwayWith554()
    {
        await using var stack = await RelayStack.StartAsync(smtpSettings: new Dictionary<string, string?>
        {
            ["Smtp:AllowedNetworks:0"] = "10.0.0.0/8",
        });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", stack.SmtpPort);
        using var reader = new StreamReader(tcp.GetStream(), Encoding.ASCII);

        var greeting = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var after = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.StartsWith("554 5.7.1", greeting, StringComparison.Ordinal);
        Assert.Null(after);
        Assert.Contains(stack.Logs, line => line.Contains("not in Smtp:AllowedNetworks", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OneConnectionOverTheLimitHears421AndTheNextAfterARelease220()
    {
        await using var stack = await RelayStack.StartAsync(smtpSettings: new Dictionary<string, string?>
        {
            ["Smtp:MaxConnections"] = "1",
        });
        var first = await SmtpClients.Raw.ConnectAsync(stack.SmtpPort);
        using var refused = new TcpClient();
        await refused.ConnectAsync("127.0.0.1", stack.SmtpPort);
        using var reader = new StreamReader(refused.GetStream(), Encoding.ASCII);

        Assert.StartsWith("421 4.7.0", await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)), StringComparison.Ordinal);
        Assert.Null(await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.StartsWith("221", await first.SendAsync("QUIT"), StringComparison.Ordinal);
        await first.DisposeAsync();
        for (var attempt = 0; ; attempt++)
        {
            await using var next = await SmtpClients.Raw.ConnectAsync(stack.SmtpPort);
            if (next.Greeting.StartsWith("220", StringComparison.Ordinal))
            {
                break;
            }
            Assert.True(attempt < 50, "The released connection was never counted back.");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task OnShutdownIdleSessionsHear421AndAMessageInFlightStillGets250()
    {
        await using var stack = await RelayStack.StartAsync();
        await using var busy = await SmtpClients.Raw.ConnectAsync(stack.SmtpPort);
        await using var idle = await SmtpClients.Raw.ConnectAsync(stack.SmtpPort);
        await busy.SendAsync("EHLO busy");
        await busy.SendAsync($"AUTH PLAIN {PlainLogin}");
        await busy.SendAsync("MAIL FROM:<scanner@contoso.com>");
        await busy.SendAsync("RCPT TO:<alice@fabrikam.com>");
        Assert.StartsWith("354", await busy.SendAsync("DATA"), StringComparison.Ordinal);
        await busy.WriteAsync("From: scanner@contoso.com\r\nSubject: in flight\r\n\r\nfirst half\r\n");
        await idle.SendAsync("EHLO idle");

        var stopping = stack.Smtp.StopAsync();

        Assert.StartsWith("421 4.3.2", await idle.ReadReplyAsync(), StringComparison.Ordinal);
        await AssertRefusesConnectionsAsync(stack.SmtpPort);
        Assert.StartsWith("250 2.0.0", await busy.SendAsync("second half\r\n."), StringComparison.Ordinal);
        Assert.StartsWith("421 4.3.2", await busy.SendAsync("NOOP"), StringComparison.Ordinal);
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));
        var stored = Assert.Single(Directory.GetFiles(stack.PickupDirectory, "*.eml"));
        Assert.Contains("first half\r\nsecond half\r\n", await File.ReadAllTextAsync(stored), StringComparison.Ordinal);
    }

    /// <summary>The listener closes soon after the stop begins; polls (bounded) until a connection is refused.</summary>
    private static async Task AssertRefusesConnectionsAsync(int port)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var tcp = new TcpClient();
            try
            {
                await tcp.ConnectAsync("127.0.0.1", port);
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
            {
                return;
            }
            await Task.Delay(100);
        }
        Assert.Fail("The SMTP listener still accepts connections while stopping.");
    }
}
