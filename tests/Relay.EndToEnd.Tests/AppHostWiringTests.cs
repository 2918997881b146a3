using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.ServiceDiscovery;
using Relay.Sender.Delivery;
using Relay.Sender.Delivery.Graph;
using Relay.Sender.Hosting;
using Relay.Sender.Identity;
using Relay.Smtp;
using Relay.Smtp.Hosting;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// Relay.AppHost cannot be built here (the Aspire packages are not on the feed), so a misspelt variable in it would
/// only show in Azure, as a setting that silently does nothing. These tests read AppHost.cs as text and hand every
/// variable it sets to the real configuration of the service that owns the variable's section: environment variables
/// read by the standard provider, bound by the service's own options registration, and the bound value observed.
/// </summary>
public partial class AppHostWiringTests
{
    private static readonly string AppHostSource = File.ReadAllText(Path.Combine(Repository.Root, "src", "Relay.AppHost", "AppHost.cs"));

    /// <summary>The options section each service binds, and the service that binds it.</summary>
    private static readonly Dictionary<string, (Type Options, Action<WebApplicationBuilder> AddService)> Sections = new(StringComparer.Ordinal)
    {
        [SmtpOptions.SectionName] = (typeof(SmtpOptions), builder => builder.AddRelaySmtp()),
        [GraphOptions.SectionName] = (typeof(GraphOptions), builder => builder.AddRelaySender()),
        [DeliveryOptions.SectionName] = (typeof(DeliveryOptions), builder => builder.AddRelaySender()),
        [IdentityOptions.SectionName] = (typeof(IdentityOptions), builder => builder.AddRelaySender()),
    };

    [Fact]
    public void EveryVariableTheAppHostSetsIsNamedLiterallySoItCanBeChecked()
    {
        var variables = AppHostVariables();

        // A name built at run time (a constant, an interpolation) would slip past the check below.
        Assert.Equal(Regex.Count(AppHostSource, @"\.WithEnvironment\("), variables.Count(v => v.Kind == "WithEnvironment"));
        Assert.Equal(Regex.Count(AppHostSource, @"\benv:"), variables.Count(v => v.Kind == "env:"));
        Assert.Equal(Regex.Count(AppHostSource, @"new ContainerAppEnvironmentVariable\b"), variables.Count(v => v.Kind == "ContainerAppEnvironmentVariable"));
        // And the AppHost does set what the deployment depends on; an extraction that found nothing would prove nothing.
        Assert.Contains(variables, v => v.Name == "Smtp__Port");
        Assert.Contains(variables, v => v.Name == "Smtp__BindAddress");
        Assert.Contains(variables, v => v.Name == "Graph__ClientSecret");
        Assert.Contains(variables, v => v.Name == "Graph__ManagedIdentityClientId");
    }

    [Fact]
    public void EveryVariableTheAppHostSetsIsBoundByTheServiceThatReadsItsSection()
    {
        var problems = AppHostVariables()
            .Select(v => (v.Name, v.Literal))
            .Distinct()
            .Select(v => CheckBinding(v.Name, v.Literal))
            .OfType<string>()
            .ToList();

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Theory]
    [InlineData("Graph__ClientSecrte", "ClientSecrte")]
    [InlineData("Smtp__BindAdress", "BindAdress")]
    [InlineData("Smpt__Port", "Smpt")]
    public void AMisspeltVariableIsReportedByName(string variable, string named)
    {
        var problem = CheckBinding(variable, literal: null);

        Assert.NotNull(problem);
        Assert.Contains(variable, problem, StringComparison.Ordinal);
        Assert.Contains(named, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void AValueTheOptionsCannotHoldIsReported()
    {
        var problem = CheckBinding("Graph__Credential", literal: "ManagedIdentities");

        Assert.NotNull(problem);
        Assert.Contains("Graph__Credential", problem, StringComparison.Ordinal);
    }

    /// <summary>
    /// Aspire names what it injects after the resources: <c>WithReference(sender)</c> gives Relay.Smtp
    /// <c>services__sender__http__0</c> and <c>WithReference(vault)</c> gives <c>ConnectionStrings__secrets</c> (DESIGN.md's
    /// wiring contract). A renamed resource would leave the services looking for names nobody sets.
    /// </summary>
    [Fact]
    public async Task TheSenderResourceIsTheServiceRelaySmtpDiscovers()
    {
        var name = Single(@"AddProject<Projects\.Relay_Sender>\(""(?<name>[^""]+)""");
        Assert.Equal(SmtpHostingExtensions.SenderServiceName, name);

        await using var services = ServiceWith(builder => { builder.AddServiceDefaults(); builder.AddRelaySmtp(); },
            ($"services__{name}__http__0", "http://127.0.0.1:5081"));
        var configuration = services.GetRequiredService<IConfiguration>();
        var resolver = services.GetRequiredService<ServiceEndpointResolver>();
        var endpoints = await resolver.GetEndpointsAsync(SmtpHostingExtensions.SenderAddress(configuration).ToString(), CancellationToken.None);

        var endpoint = Assert.Single(endpoints.Endpoints);
        Assert.Equal("http://127.0.0.1:5081/", endpoint.EndPoint.ToString());
    }

    [Fact]
    public void TheVaultResourceIsTheConnectionStringBothServicesRead()
    {
        var name = Single(@"AddAzureKeyVault\(""(?<name>[^""]+)""");
        Assert.Equal(KeyVaultExtensions.ConnectionName, name);

        foreach (var addService in new Action<WebApplicationBuilder>[] { b => b.AddRelaySmtp(), b => b.AddRelaySender() })
        {
            using var services = ServiceWith(addService, ($"ConnectionStrings__{name}", "https://relay-wiring.vault.azure.net/"));
            Assert.Equal("https://relay-wiring.vault.azure.net/", services.GetRequiredService<IOptions<KeyVaultOptions>>().Value.VaultUri);
        }
    }

    /// <summary>A variable the AppHost sets; <see cref="Literal"/> is its value when that is a string literal (a parameter's is not known here).</summary>
    private sealed record Variable(string Kind, string Name, string? Literal);

    private static List<Variable> AppHostVariables() =>
    [
        .. WithEnvironmentName().Matches(AppHostSource).Select(m => new Variable("WithEnvironment", m.Groups["name"].Value,
            m.Groups["value"].Success ? m.Groups["value"].Value : null)),
        .. EndpointEnvName().Matches(AppHostSource).Select(m => new Variable("env:", m.Groups["name"].Value, null)),
        .. ContainerAppVariableName().Matches(AppHostSource).Select(m => new Variable("ContainerAppEnvironmentVariable", m.Groups["name"].Value, null)),
    ];

    private static string Single(string pattern) => Assert.Single(Regex.Matches(AppHostSource, pattern)).Groups["name"].Value;

    /// <summary>
    /// Sets <paramref name="variable"/> for the service that owns its section and reads back what that service's options
    /// hold. Null when the value arrived; otherwise what went wrong, naming the variable.
    /// </summary>
    private static string? CheckBinding(string variable, string? literal)
    {
        var path = variable.Split("__");
        if (!Sections.TryGetValue(path[0], out var section))
        {
            return $"{variable}: no Relay service reads a section '{path[0]}' (known: {string.Join(", ", Sections.Keys)}).";
        }
        if (PropertyPath(section.Options, path.Skip(1)) is not { } properties)
        {
            return $"{variable}: {section.Options.Name} has no property path {string.Join(".", path.Skip(1))}.";
        }
        var property = properties[^1];
        var value = literal ?? SampleFor(property.PropertyType);
        using var services = ServiceWith(section.AddService, (variable, value));
        object? bound;
        try
        {
            bound = BindWithoutValidation(services, section.Options);
        }
        catch (InvalidOperationException ex)
        {
            // The binder refuses a value it cannot convert (an enum member that does not exist, a number out of range).
            return $"{variable}='{value}': {ex.Message}";
        }
        foreach (var step in properties)
        {
            bound = bound is null ? null : step.GetValue(bound);
        }
        return string.Equals(Convert.ToString(bound, System.Globalization.CultureInfo.InvariantCulture), value, StringComparison.OrdinalIgnoreCase)
            ? null
            : $"{variable}='{value}': {section.Options.Name}.{string.Join(".", properties.Select(p => p.Name))} is '{bound}' after binding.";
    }

    /// <summary>The properties a configuration path walks through, matched as the binder matches them (ignoring case).</summary>
    private static List<PropertyInfo>? PropertyPath(Type type, IEnumerable<string> keys)
    {
        var properties = new List<PropertyInfo>();
        foreach (var key in keys)
        {
            var property = type.GetProperty(key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is null || !property.CanWrite && property.PropertyType.IsValueType)
            {
                return null;
            }
            properties.Add(property);
            type = property.PropertyType;
        }
        return properties.Count == 0 ? null : properties;
    }

    /// <summary>A value of the property's type that differs from the usual defaults, so seeing it proves it was bound.</summary>
    private static string SampleFor(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            _ when type == typeof(string) => "wiring-check",
            _ when type == typeof(int) || type == typeof(long) => "2465",
            _ when type == typeof(bool) => "True",
            _ when type == typeof(TimeSpan) => "00:00:07",
            { IsEnum: true } => Enum.GetNames(type)[^1],
            _ => throw new NotSupportedException($"No sample value for {type}."),
        };
    }

    /// <summary>
    /// What the service's own options registration (<c>BindConfiguration</c> and any post-configuration) makes of the
    /// configuration, without its validation: one variable alone may be invalid without its companions (an implicit-TLS
    /// port without a certificate), and whether it is read is the question here.
    /// </summary>
    private static object BindWithoutValidation(IServiceProvider services, Type options) =>
        typeof(AppHostWiringTests).GetMethod(nameof(Bind), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(options).Invoke(null, BindingFlags.DoNotWrapExceptions, null, [services], null) is { } bound
            ? bound
            : throw new InvalidOperationException($"{options.Name} did not bind.");

    private static TOptions Bind<TOptions>(IServiceProvider services) where TOptions : class =>
        new OptionsFactory<TOptions>(services.GetServices<IConfigureOptions<TOptions>>(), services.GetServices<IPostConfigureOptions<TOptions>>())
            .Create(Options.DefaultName);

    /// <summary>
    /// A service's registrations over a configuration that holds only the given environment variables, read by the
    /// standard environment-variable provider under a prefix of their own so no other test sees them.
    /// </summary>
    private static ServiceProvider ServiceWith(Action<WebApplicationBuilder> addService, params (string Name, string Value)[] variables)
    {
        var prefix = $"RELAY_WIRING_{Guid.NewGuid():N}_";
        foreach (var (name, value) in variables)
        {
            Environment.SetEnvironmentVariable(prefix + name, value);
        }
        try
        {
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions
            {
                EnvironmentName = Environments.Production,
                ContentRootPath = AppContext.BaseDirectory,
            });
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddEnvironmentVariables(prefix);
            addService(builder);
            return builder.Services.BuildServiceProvider();
        }
        finally
        {
            foreach (var (name, _) in variables)
            {
                Environment.SetEnvironmentVariable(prefix + name, null);
            }
        }
    }

    [GeneratedRegex(@"\.WithEnvironment\(\s*""(?<name>[^""]+)""(?:\s*,\s*""(?<value>[^""]*)"")?")]
    private static partial Regex WithEnvironmentName();

    [GeneratedRegex(@"\benv:\s*""(?<name>[^""]+)""")]
    private static partial Regex EndpointEnvName();

    [GeneratedRegex(@"new ContainerAppEnvironmentVariable\s*\{\s*Name\s*=\s*""(?<name>[^""]+)""")]
    private static partial Regex ContainerAppVariableName();
}
