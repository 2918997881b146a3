using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Relay.Sender.Hosting;

namespace Relay.Sender.Tests.Hosting;

public sealed class ProtectSecretCommandTests
{
    private const string Secret = "Gr4ph~client.secret_value";

    private static (int ExitCode, string Output, string Error) Run(string input, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = ProtectSecretCommand.Run([ProtectSecretCommand.Name, .. args], new StringReader(input), output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public void OffWindowsItRefusesSayingDpapiValuesCanOnlyBeReadOnWindows()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // The Windows behaviour is the round trip below.
        }

        var (exitCode, output, error) = Run(Secret + "\n");

        Assert.Equal(1, exitCode);
        Assert.Empty(output);
        Assert.Contains("DPAPI-protected values can only be read on Windows", error, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, error, StringComparison.Ordinal);
    }

    /// <summary>Runs only on Windows (DPAPI exists nowhere else).</summary>
    [Theory]
    [InlineData("LocalMachine")]
    [InlineData("CurrentUser")]
    public void OnWindowsThePrintedValueIsReadBackByTheConfigurationLayer(string scope)
    {
        if (!OperatingSystem.IsWindows())
        {
            return; // Off Windows: the test above and DpapiConfigurationTests.
        }

        var (exitCode, output, error) = Run(Secret + "\n", "--scope", scope);

        Assert.True(exitCode == 0, error);
        var printed = output.Trim();
        Assert.StartsWith(DpapiProtectedValue.Prefix, printed, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, printed, StringComparison.Ordinal);
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Graph:ClientSecret"] = printed, ["Graph:ClientId"] = "plain" });
        configuration.AddDpapiUnprotectedValues();
        Assert.Equal(Secret, configuration["Graph:ClientSecret"]);
        Assert.Equal("plain", configuration["Graph:ClientId"]);
    }
}
