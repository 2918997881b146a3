using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Relay.Contracts;
using Relay.Smtp.Delivery;
using Relay.Smtp.Policy;
using Relay.Smtp.Tls;

namespace Relay.Smtp.Hosting;

public static class SmtpHostingExtensions
{
    /// <summary>Resource name of Relay.Sender in the AppHost, resolved by service discovery.</summary>
    public const string SenderServiceName = "sender";

    /// <summary>The SMTP listeners on Kestrel, their options and policies, and the gRPC client for Relay.Sender.</summary>
    public static WebApplicationBuilder AddRelaySmtp(this WebApplicationBuilder builder)
    {
        builder.AddRelayKeyVault();
        builder.Services.AddOptions<SmtpOptions>().BindConfiguration(SmtpOptions.SectionName).ValidateOnStart()
            .Validate<IOptions<KeyVaultOptions>>((smtp, vault) => !smtp.Tls.HasKeyVaultCertificate || vault.Value.IsConfigured,
                $"Smtp:Tls:KeyVaultCertificateName needs the vault: set {KeyVaultOptions.ConfigurationKey} to its URI (https://NAME.vault.azure.net/).");
        builder.Services.AddSingleton<IValidateOptions<SmtpOptions>, SmtpOptionsValidator>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ConnectionLimiter>();
        builder.Services.AddSingleton<AuthFailureThrottle>();
        builder.Services.AddSingleton<ServerCertificate>();
        // Hosted services start before Kestrel, so a Key Vault certificate is loaded (or start-up stopped) before a client connects.
        builder.Services.AddHostedService<KeyVaultCertificateRefresher>();
        builder.Services.AddSingleton<SmtpListeners>();
        builder.Services.AddSingleton<SmtpConnectionHandler>();
        builder.Services.AddSingleton<ISenderClient, GrpcSenderClient>();
        builder.Services.AddOptions<HostOptions>().Configure<IOptions<SmtpOptions>>((host, smtp) =>
            // Kestrel waits this long for sessions to finish once SIGTERM has stopped the listeners.
            host.ShutdownTimeout = smtp.Value.ShutdownGracePeriod);

        // The submission stream is neither idempotent nor short: no retries or total timeout from the resilience
        // defaults; Relay's own timeouts apply (Smtp:SubmissionTimeout).
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental; it is the documented way to opt out.
        builder.Services.AddGrpcClient<MailSubmission.MailSubmissionClient>(o => o.Address = SenderAddress(builder.Configuration))
            .RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var services = kestrel.ApplicationServices;
            // Reading .Value validates the options, so a bad Smtp section stops start-up with its key named; the
            // certificate is loaded here too, so a bad one does the same.
            var smtp = services.GetRequiredService<IOptions<SmtpOptions>>().Value;
            var handler = services.GetRequiredService<SmtpConnectionHandler>();
            var listeners = services.GetRequiredService<SmtpListeners>();
            ReportSecurity(services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SmtpConnectionHandler)), smtp);
            var address = IPAddress.Parse(smtp.BindAddress);
            kestrel.Listen(address, smtp.Port, listen =>
            {
                listeners.Plain = listen;
                listen.Run(connection => handler.OnConnectedAsync(connection, implicitTls: false));
            });
            if (smtp.ImplicitTlsPort is { } implicitPort)
            {
                kestrel.Listen(address, implicitPort, listen =>
                {
                    listeners.ImplicitTls = listen;
                    listen.Run(connection => handler.OnConnectedAsync(connection, implicitTls: true));
                });
            }
            if (smtp.HealthPort is { } healthPort)
            {
                // HTTP/1.1 for probes (curl, Container Apps, load balancers); MapDefaultEndpoints serves it.
                kestrel.Listen(address, healthPort, listen =>
                {
                    listeners.Health = listen;
                    listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1;
                });
            }
        });
        builder.Services.AddSingleton<SmtpListenersHealthCheck>();
        builder.Services.AddHealthChecks().AddCheck<SmtpListenersHealthCheck>(SmtpListenersHealthCheck.Name, tags: ["ready"]);
        return builder;
    }

    /// <summary>Says at start-up what a client will be offered, and warns where that is probably not what was meant.</summary>
    private static void ReportSecurity(ILogger logger, SmtpOptions smtp)
    {
        logger.LogInformation("SMTP on {Address}:{Port} (STARTTLS {StartTls}), implicit TLS on {ImplicitTlsPort}",
            smtp.BindAddress, smtp.Port, smtp.Tls.HasCertificate ? "offered" : "off", smtp.ImplicitTlsPort?.ToString() ?? "off");
        if (!smtp.Tls.HasCertificate && smtp.Tls.RequireForAuth && !IPAddress.IsLoopback(IPAddress.Parse(smtp.BindAddress)))
        {
            logger.LogWarning("No TLS certificate (Smtp:Tls:CertificatePath or Smtp:Tls:KeyVaultCertificateName) and Smtp:Tls:RequireForAuth is on: only loopback clients " +
                "can log in. Configure a certificate, or set Smtp:Tls:RequireForAuth=false to accept passwords in clear text.");
        }
        if (!smtp.Tls.RequireForAuth)
        {
            logger.LogWarning("Smtp:Tls:RequireForAuth is off: clients may send passwords in clear text.");
        }
    }

    /// <summary>
    /// <c>https://sender</c> when the AppHost (or the operator) gives an https endpoint, else <c>http://sender</c>.
    /// This is what <c>https+http://sender</c> means for HttpClient; GrpcChannel accepts only http and https schemes,
    /// so the preference is settled here and service discovery resolves the host name as usual.
    /// </summary>
    public static Uri SenderAddress(IConfiguration configuration) =>
        configuration.GetSection($"services:{SenderServiceName}:https").GetChildren().Any()
            ? new Uri($"https://{SenderServiceName}")
            : new Uri($"http://{SenderServiceName}");
}
