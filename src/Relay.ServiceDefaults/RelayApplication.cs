using Microsoft.AspNetCore.Builder;

namespace Microsoft.Extensions.Hosting;

/// <summary>How both Relay services create their builder.</summary>
public static class RelayApplication
{
    /// <summary>
    /// Like <see cref="WebApplication.CreateBuilder(string[])"/>, but when the working directory has no
    /// appsettings.json the content root is the application's own directory (unless <c>--contentRoot</c>,
    /// <c>ASPNETCORE_CONTENTROOT</c> or <c>DOTNET_CONTENTROOT</c> names one). The default alone loses appsettings.json
    /// when a service is started as <c>dotnet /opt/relay/sender/Relay.Sender.dll</c> from elsewhere (or as a Windows
    /// service, in system32) — and with it the Sender's HTTP/2-only endpoints, so every gRPC call from Relay.Smtp
    /// fails. Run from the project directory (Aspire, <c>dotnet run</c>), the working directory stays the content
    /// root, so relative paths such as the pickup folder stay where they were.
    /// </summary>
    /// <remarks>
    /// Under systemd (<c>Type=notify</c>) the service tells systemd when it has started (READY=1, after Kestrel has bound
    /// its listeners) and when it stops, and logs in journald's format; as a Windows service it answers the service
    /// control manager. Run any other way, both are no-ops. Values written <c>dpapi:…</c> are unprotected here (Windows
    /// only; see <see cref="DpapiConfigurationExtensions.AddDpapiUnprotectedValues"/>).
    /// </remarks>
    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = HasExplicitContentRoot(args) || File.Exists(Path.Combine(Environment.CurrentDirectory, "appsettings.json"))
                ? null
                : AppContext.BaseDirectory,
        });
        // Last of the default sources (appsettings, user secrets, environment, command line), so it sees them all.
        builder.Configuration.AddDpapiUnprotectedValues();
        builder.Services.AddSystemd();
        builder.Services.AddWindowsService();
        return builder;
    }

    private static bool HasExplicitContentRoot(string[] args) =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ASPNETCORE_CONTENTROOT"))
        || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOTNET_CONTENTROOT"))
        || args.Any(arg => arg.TrimStart('-', '/').StartsWith("contentRoot", StringComparison.OrdinalIgnoreCase));
}
