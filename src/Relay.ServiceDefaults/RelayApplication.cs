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
    /// <remarks>
    /// Under systemd (<c>Type=notify</c>) the service tells systemd when it has started (READY=1, after Kestrel has bound
    /// its listeners) and when it stops, and logs in journald's format; as a Windows service it answers the service
    /// control manager. Run any other way, both are no-ops.
    /// </remarks>
    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = HasExplicitContentRoot(args) ? null : AppContext.BaseDirectory,
        });
        builder.Services.AddSystemd();
        builder.Services.AddWindowsService();
        return builder;
    }

    private static bool HasExplicitContentRoot(string[] args) =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ASPNETCORE_CONTENTROOT"))
        || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOTNET_CONTENTROOT"))
        || args.Any(arg => arg.TrimStart('-', '/').StartsWith("contentRoot", StringComparison.OrdinalIgnoreCase));
}
