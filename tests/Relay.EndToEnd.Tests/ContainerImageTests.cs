using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Relay.Smtp;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// The container images as the .NET SDK computes them for <c>/t:PublishContainer</c> (target <c>ComputeContainerConfig</c>,
/// which needs no network). The images themselves cannot be built here: their base image is on mcr.microsoft.com.
/// </summary>
public class ContainerImageTests
{
    [Fact]
    public async Task RelaySmtpImageRunsAsNonRootAndExposesEveryPortItListensOn()
    {
        var image = await ContainerImage.ComputeAsync("Relay.Smtp");

        Assert.Equal("relay-smtp", image.Name);
        AssertNonRootChiseled(image);
        // The image's own settings, bound and validated as Relay.Smtp does at start-up.
        var smtp = Bind<SmtpOptions>(image.Environment, SmtpOptions.SectionName, new SmtpOptionsValidator());
        Assert.Equal("0.0.0.0", smtp.BindAddress);
        Assert.Contains(smtp.Port, image.Ports);
        Assert.NotNull(smtp.HealthPort);
        Assert.Contains(smtp.HealthPort.Value, image.Ports);
        // Every container port the AppHost maps Container Apps' ingress to is one the image exposes.
        var appHostPorts = Regex.Matches(await File.ReadAllTextAsync(Path.Combine(Repository.Root, "src", "Relay.AppHost", "AppHost.cs")),
            @"const int \w+Port = (?<port>\d+);").Select(m => int.Parse(m.Groups["port"].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.NotEmpty(appHostPorts);
        Assert.All(appHostPorts, port => Assert.Contains(port, image.Ports));
    }

    [Fact]
    public async Task RelaySenderImageRunsAsNonRootAndExposesItsHttpPort()
    {
        var image = await ContainerImage.ComputeAsync("Relay.Sender");

        Assert.Equal("relay-sender", image.Name);
        AssertNonRootChiseled(image);
        var httpPorts = Assert.Contains("ASPNETCORE_HTTP_PORTS", image.Environment);
        Assert.Equal(image.Ports, httpPorts.Split(';').Select(p => int.Parse(p, System.Globalization.CultureInfo.InvariantCulture)));
    }

    private static void AssertNonRootChiseled(ContainerImage image)
    {
        // Non-root: an unprivileged process cannot take over the node's ports or files even if Relay is compromised.
        Assert.False(string.IsNullOrEmpty(image.User) || image.User is "root" or "0", $"ContainerUser is '{image.User}'");
        Assert.Matches(@"^mcr\.microsoft\.com/dotnet/aspnet:10\.0-[a-z]+-chiseled$", image.BaseImage);
    }

    private static T Bind<T>(IReadOnlyDictionary<string, string> environment, string section, IValidateOptions<T> validator) where T : class, new()
    {
        // The environment-variable provider's translation: Smtp__BindAddress is Smtp:BindAddress.
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(environment.Select(e => KeyValuePair.Create(e.Key.Replace("__", ":", StringComparison.Ordinal), (string?)e.Value)))
            .Build();
        var options = configuration.GetSection(section).Get<T>() ?? new T();
        var result = validator.Validate(Options.DefaultName, options);
        Assert.False(result.Failed, result.FailureMessage);
        return options;
    }

    private sealed record ContainerImage(string Name, string BaseImage, string User, IReadOnlyList<int> Ports, IReadOnlyDictionary<string, string> Environment)
    {
        public static async Task<ContainerImage> ComputeAsync(string project)
        {
            var result = await ExternalTool.RunAsync(DotnetPath(),
            [
                "msbuild", Path.Combine(Repository.Root, "src", project, project + ".csproj"),
                "-t:ComputeContainerConfig", "-p:RuntimeIdentifier=linux-x64", "-nologo",
                "-getProperty:ContainerRepository", "-getProperty:ContainerBaseImage", "-getProperty:ContainerUser",
                "-getItem:ContainerPort", "-getItem:ContainerEnvironmentVariables",
            ], timeout: TimeSpan.FromMinutes(3));
            Assert.True(result.ExitCode == 0, result.ToString());
            using var json = JsonDocument.Parse(result.Output[result.Output.IndexOf('{', StringComparison.Ordinal)..]);
            var properties = json.RootElement.GetProperty("Properties");
            var items = json.RootElement.GetProperty("Items");
            return new ContainerImage(
                properties.GetProperty("ContainerRepository").GetString()!,
                properties.GetProperty("ContainerBaseImage").GetString()!,
                properties.GetProperty("ContainerUser").GetString()!,
                [.. items.GetProperty("ContainerPort").EnumerateArray()
                    .Select(port => int.Parse(port.GetProperty("Identity").GetString()!, System.Globalization.CultureInfo.InvariantCulture))],
                items.GetProperty("ContainerEnvironmentVariables").EnumerateArray()
                    .ToDictionary(e => e.GetProperty("Identity").GetString()!, e => e.GetProperty("Value").GetString()!));
        }

        private static string DotnetPath() =>
            System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : System.Environment.ProcessPath!;
    }
}
