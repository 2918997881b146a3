using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Relay.Testing;

/// <summary>Builds the Kestrel application behind <see cref="FakeMicrosoftCloud"/>.</summary>
internal static class FakeCloudHost
{
    public static WebApplication Build(X509Certificate2 certificate, RequestJournal journal, EntraTokenEndpoint tokenEndpoint, SendMailEndpoint sendMailEndpoint, KeyVaultEndpoint keyVaultEndpoint, ManagedIdentityEndpoint managedIdentityEndpoint)
    {
        // The empty builder reads no configuration, so no environment variable or appsettings file can add an endpoint.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddRoutingCore();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            // The journal buffers every body; sendMail applies Graph's own 4 MiB limit.
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(certificate);
            });
        });

        var app = builder.Build();
        app.Use(GraphRequestIds.AssignAsync);
        app.Use(journal.RecordAsync);
        app.MapPost("/{tenant}/oauth2/v2.0/token", tokenEndpoint.IssueAsync);
        app.MapPost("/v1.0/users/{id}/sendMail", sendMailEndpoint.SendAsync);
        app.MapGet("/secrets", keyVaultEndpoint.ListSecrets);
        app.MapGet("/secrets/{name}/{version?}", keyVaultEndpoint.GetSecret);
        app.MapGet("/common/userrealm/{username}", tokenEndpoint.GetUserRealm);
        app.MapPost("/v1.0/me/sendMail", (Delegate)sendMailEndpoint.SendFromMeAsync);
        app.MapGet(ManagedIdentityEndpoint.AppServicePath, managedIdentityEndpoint.IssueForAppService);
        app.MapGet(ManagedIdentityEndpoint.ImdsPath, managedIdentityEndpoint.IssueForImds);
        app.MapFallback("{**path}", (HttpContext context) => new GraphErrorResult(new GraphFault(
            StatusCodes.Status404NotFound, "ResourceNotFound", $"The fake Microsoft cloud has no endpoint for {context.Request.Method} {context.Request.Path}.")));
        return app;
    }
}
