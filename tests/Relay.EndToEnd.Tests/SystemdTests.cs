using System.Net.Sockets;
using System.Text;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// deploy/*.service: that systemd itself accepts the unit files, that both services speak the <c>Type=notify</c>
/// protocol (READY=1 on <c>$NOTIFY_SOCKET</c> once they listen), and that a real systemd runs them.
/// </summary>
public class SystemdTests
{
    [Theory]
    [InlineData("relay-sender.service")]
    [InlineData("relay-smtp.service")]
    public async Task SystemdAnalyzeVerifyAcceptsTheUnitFile(string unit)
    {
        // ExecStart names /usr/bin/dotnet, where Microsoft's and Debian's packages put it; verify checks that it exists,
        // so the copy checked here names the dotnet running this test (CI runners install it elsewhere).
        var directory = Directory.CreateTempSubdirectory("relay-units-");
        try
        {
            var text = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "deploy", unit));
            await File.WriteAllTextAsync(Path.Combine(directory.FullName, unit), text.Replace("/usr/bin/dotnet", DotnetPath(), StringComparison.Ordinal));

            var result = await ExternalTool.RunAsync("systemd-analyze", ["verify", Path.Combine(directory.FullName, unit)]);

            // verify exits 0 on unknown keys and bad values, only warning about them; nothing printed means nothing ignored.
            Assert.True(result.ExitCode == 0 && result.Output.Trim().Length == 0 && result.Error.Trim().Length == 0, result.ToString());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task BothServicesSendReadyToTheNotifySocketOnceTheyListen()
    {
        var senderPort = ExternalTool.FreeLoopbackPort();
        var smtpPort = ExternalTool.FreeLoopbackPort();
        var healthPort = ExternalTool.FreeLoopbackPort();
        var directory = Directory.CreateTempSubdirectory("relay-notify-");
        using var senderSocket = NotifySocket(Path.Combine(directory.FullName, "sender.sock"));
        using var smtpSocket = NotifySocket(Path.Combine(directory.FullName, "smtp.sock"));
        var systemd = FakeSystemd(directory.FullName);
        var sender = ExternalTool.Start(systemd, [DotnetPath(), ProcessTests.ServiceExecutable("Relay.Sender") + ".dll"], directory.FullName, new Dictionary<string, string>
        {
            ["NOTIFY_SOCKET"] = Path.Combine(directory.FullName, "sender.sock"),
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{senderPort}",
            ["Delivery__PickupDirectory"] = Path.Combine(directory.FullName, "pickup"),
        });
        var smtp = ExternalTool.Start(systemd, [DotnetPath(), ProcessTests.ServiceExecutable("Relay.Smtp") + ".dll"], directory.FullName, new Dictionary<string, string>
        {
            ["NOTIFY_SOCKET"] = Path.Combine(directory.FullName, "smtp.sock"),
            ["services__sender__http__0"] = $"http://127.0.0.1:{senderPort}",
            ["Smtp__Port"] = smtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Smtp__HealthPort"] = healthPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        try
        {
            Assert.Contains("READY=1", await ReceiveAsync(senderSocket));
            // Ready means listening: no waiting for the port after READY=1.
            Assert.Equal((System.Net.HttpStatusCode.OK, "Healthy"), await HealthTests.GetAsync($"http://127.0.0.1:{senderPort}/health"));

            Assert.Contains("READY=1", await ReceiveAsync(smtpSocket));
            using (var client = new TcpClient())
            {
                await client.ConnectAsync(System.Net.IPAddress.Loopback, smtpPort);
            }
            Assert.Equal((System.Net.HttpStatusCode.OK, "Healthy"), await HealthTests.GetAsync($"http://127.0.0.1:{healthPort}/health", http2: false));
        }
        finally
        {
            await ExternalTool.StopAsync(smtp);
            await ExternalTool.StopAsync(sender);
            directory.Delete(recursive: true);
        }
    }

    /// <summary>
    /// deploy/test-units.sh makes a real systemd PID 1 of its own PID, mount, UTS and cgroup namespaces (this machine's
    /// PID 1 is not systemd), installs the units and settings files as README.md does, starts them with
    /// <c>systemctl enable --now</c>, sends one message with swaks, and checks the pickup file, the relay user and the
    /// sandboxing. It needs root with CAP_SYS_ADMIN. Run as another user (a developer's machine) the test is reported
    /// skipped, with the reason; run as root (CI), a machine that still cannot run systemd makes it fail: the script
    /// exits 77 and says what is missing, and a check that quietly passed where it cannot run would hide a broken unit.
    /// </summary>
    [RootOnlyFact("systemd in its own namespaces needs mounts and cgroups")]
    public async Task BothUnitsRunUnderARealSystemdAndRelayAMessage()
    {
        var script = Path.Combine(RepositoryRoot(), "deploy", "test-units.sh");

        // The script bounds itself (systemd is killed after 300 s); this limit only catches a script that hangs anyway.
        var result = await ExternalTool.RunAsync("bash",
            [script, ProcessTests.ServiceDirectory("Relay.Sender"), ProcessTests.ServiceDirectory("Relay.Smtp")],
            timeout: TimeSpan.FromMinutes(7));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("PASS: deploy/*.service run under systemd", result.Output);
    }

    /// <summary>
    /// Microsoft.Extensions.Hosting.Systemd acts only when the process's parent is called systemd (or it is PID 1), as
    /// under systemd's <c>ExecStart=</c>. A script named <c>systemd</c> that runs the service as its child is that parent.
    /// </summary>
    private static string FakeSystemd(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("systemd runs on Linux.");
        }
        var path = Path.Combine(directory, "systemd");
        File.WriteAllText(path, "#!/bin/sh\n\"$@\"\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private static Socket NotifySocket(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    private static async Task<string> ReceiveAsync(Socket socket)
    {
        var buffer = new byte[4096];
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var received = await socket.ReceiveAsync(buffer, SocketFlags.None, limit.Token);
        return Encoding.UTF8.GetString(buffer, 0, received);
    }

    private static string DotnetPath() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : Environment.ProcessPath!;

    private static string RepositoryRoot()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "Relay.slnx")))
        {
            root = root.Parent ?? throw new InvalidOperationException("Relay.slnx not found above the test output.");
        }
        return root.FullName;
    }
}
