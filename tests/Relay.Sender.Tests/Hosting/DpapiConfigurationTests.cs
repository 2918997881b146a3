using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Relay.Sender.Tests.Hosting;

/// <summary>The <c>dpapi:</c> configuration layer: what counts as protected, and what happens where DPAPI is missing.</summary>
public sealed class DpapiConfigurationTests
{
    [Theory]
    [InlineData("dpapi:AQID", new byte[] { 1, 2, 3 })]
    [InlineData("dpapi: AQID ", new byte[] { 1, 2, 3 })]
    public void APrefixedBase64ValueIsABlob(string value, byte[] expected)
    {
        Assert.True(DpapiProtectedValue.IsProtected(value));
        Assert.True(DpapiProtectedValue.TryParse(value, out var blob, out var error), error);
        Assert.Equal(expected, blob);
    }

    [Theory]
    [InlineData("dpapi:", "is not base64 after 'dpapi:'")]
    [InlineData("dpapi:not base64!", "is not base64 after 'dpapi:'")]
    [InlineData("plain-secret", "does not start with 'dpapi:'")]
    public void AnythingElseIsNotABlob(string value, string expected)
    {
        Assert.False(DpapiProtectedValue.TryParse(value, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Theory]
    [InlineData("DPAPI:AQID")]
    [InlineData(" dpapi:AQID")]
    [InlineData("secret-with-dpapi:AQID-inside")]
    [InlineData("")]
    [InlineData(null)]
    public void OnlyTheExactPrefixMarksAProtectedValue(string? value) => Assert.False(DpapiProtectedValue.IsProtected(value));

    [Fact]
    public void PlainValuesAreLeftAloneAndAddNoSource()
    {
        var configuration = Configuration(new() { ["Graph:ClientSecret"] = "plain", ["Smtp:Port"] = "2525" });
        var sources = configuration.Sources.Count;

        configuration.AddDpapiUnprotectedValues();

        Assert.Equal(sources, configuration.Sources.Count);
        Assert.Equal("plain", configuration["Graph:ClientSecret"]);
    }

    [Fact]
    public void OffWindowsADpapiValueStopsStartUpNamingTheKey()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // There the value is unprotected: ProtectSecretCommandTests' round trip.
        }
        var configuration = Configuration(new()
        {
            ["Graph:ClientSecret"] = "dpapi:AQIDBA==",
            ["Identity:AppLogins:Lookup:scanner:ClientSecret"] = "dpapi:BQYH",
            ["Graph:ClientId"] = "plain",
        });

        var failure = Assert.Throws<OptionsValidationException>(() => configuration.AddDpapiUnprotectedValues());

        Assert.Equal(2, failure.Failures.Count());
        Assert.Contains(failure.Failures, f => f.StartsWith("Graph:ClientSecret is DPAPI-protected", StringComparison.Ordinal));
        Assert.Contains(failure.Failures, f => f.StartsWith("Identity:AppLogins:Lookup:scanner:ClientSecret is DPAPI-protected", StringComparison.Ordinal));
        Assert.All(failure.Failures, f => Assert.Contains("DPAPI-protected values can only be read on Windows", f, StringComparison.Ordinal));
        Assert.DoesNotContain("AQIDBA", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnWindowsABlobFromElsewhereStopsStartUpNamingTheKey()
    {
        if (!OperatingSystem.IsWindows())
        {
            return; // Runs only on Windows; off Windows the test above applies.
        }
        var configuration = Configuration(new() { ["Graph:ClientSecret"] = "dpapi:AQIDBA==" });

        var failure = Assert.Throws<OptionsValidationException>(() => configuration.AddDpapiUnprotectedValues());

        Assert.StartsWith("Graph:ClientSecret could not be unprotected", Assert.Single(failure.Failures), StringComparison.Ordinal);
    }

    private static ConfigurationManager Configuration(Dictionary<string, string?> values)
    {
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(values);
        return configuration;
    }
}
