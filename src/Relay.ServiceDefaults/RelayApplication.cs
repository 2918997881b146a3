using Microsoft.AspNetCore.Builder;

namespace Microsoft.Extensions.Hosting;

/// <summary>How both Relay services create their builder.</summary>
public static class RelayApplication
{
    /// <summary>
    /// Like <see cref="WebApplication.CreateBuilder(string[])"/>, but the content root is the application's own
    /// directory unless <c>--contentRoot</c>, <c>ASPNETCORE_CONTENTROOT</c> or <c>DOTNET_CONTENTROOT</c> says otherwise.
    /// The default (the working directory) loses appsettings.json when a service is started as
    /// <c>dotnet /opt/relay/sender/Relay.Sender.dll</c> from elsewhere — and with it the Sender's HTTP/2-only
    /// endpoints, so every gRPC call from Relay.Smtp would fail.
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(string[] args) => WebApplication.CreateBuilder(new WebApplicationOptions
    {
        Args = args,
        ContentRootPath = HasExplicitContentRoot(args) ? null : AppContext.BaseDirectory,
    });

    private static bool HasExplicitContentRoot(string[] args) =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ASPNETCORE_CONTENTROOT"))
        || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOTNET_CONTENTROOT"))
        || args.Any(arg => arg.TrimStart('-', '/').StartsWith("contentRoot", StringComparison.OrdinalIgnoreCase));
}
