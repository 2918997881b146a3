namespace Relay.EndToEnd.Tests;

/// <summary><c>dpapi:</c> values and <c>protect-secret</c> as an operator meets them: the published service, from its environment.</summary>
public class DpapiProcessTests
{
    [Fact]
    public async Task ADpapiValueTheServiceCannotReadStopsItAtStartNamingTheKey()
    {
        var (exitCode, output) = await ExternalTool.RunUntilExitAsync(ProcessTests.ServiceExecutable("Relay.Sender"), ProcessTests.ServiceDirectory("Relay.Sender"), new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{ExternalTool.FreeLoopbackPort()}",
            ["Graph__TenantId"] = "contoso.onmicrosoft.com",
            ["Graph__ClientId"] = "22222222-2222-2222-2222-222222222222",
            // Base64 of bytes that no DPAPI anywhere made: off Windows it cannot be read at all, on Windows not here.
            ["Graph__ClientSecret"] = "dpapi:AQIDBAUGBwg=",
        }, TimeSpan.FromSeconds(60));

        Assert.NotEqual(0, exitCode);
        var expected = OperatingSystem.IsWindows()
            ? "Graph:ClientSecret could not be unprotected"
            : "Graph:ClientSecret is DPAPI-protected ('dpapi:…'): DPAPI-protected values can only be read on Windows.";
        Assert.True(output.Any(line => line.Contains(expected, StringComparison.Ordinal)), string.Join('\n', output));
        Assert.DoesNotContain(output, line => line.Contains("AQIDBAUGBwg", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ProtectSecretOffWindowsSaysDpapiValuesCanOnlyBeReadOnWindows()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // There it protects: ProtectSecretCommandTests' round trip.
        }

        var result = await ExternalTool.RunAsync(ProcessTests.ServiceExecutable("Relay.Sender"), ["protect-secret"], "the secret\n");

        Assert.Equal(1, result.ExitCode);
        Assert.Empty(result.Output);
        Assert.Contains("DPAPI-protected values can only be read on Windows", result.Error, StringComparison.Ordinal);
    }
}
