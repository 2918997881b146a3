using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Relay.Contracts;
using Relay.Smtp.Delivery;

namespace Relay.Smtp.Hosting;

public static class SmtpHostingExtensions
{
    /// <summary>Resource name of Relay.Sender in the AppHost, resolved by service discovery.</summary>
    public const string SenderServiceName = "sender";

    /// <summary>The SMTP listener on Kestrel, its options and the gRPC client for Relay.Sender.</summary>
    public static WebApplicationBuilder AddRelaySmtp(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<SmtpOptions>().BindConfiguration(SmtpOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<SmtpOptions>, SmtpOptionsValidator>();
        builder.Services.AddSingleton<ConnectionLimiter>();
        builder.Services.AddSingleton<ISenderClient, GrpcSenderClient>();

        // The submission stream is neither idempotent nor short: no retries or total timeout from the resilience
        // defaults; Relay's own timeouts apply (Smtp:SubmissionTimeout).
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental; it is the documented way to opt out.
        builder.Services.AddGrpcClient<MailSubmission.MailSubmissionClient>(o => o.Address = SenderAddress(builder.Configuration))
            .RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Reading .Value validates the options, so a bad Smtp section stops start-up with its key named.
            var smtp = kestrel.ApplicationServices.GetRequiredService<IOptions<SmtpOptions>>().Value;
            kestrel.Listen(IPAddress.Parse(smtp.BindAddress), smtp.Port,
                listen => listen.UseConnectionHandler<SmtpConnectionHandler>());
        });
        return builder;
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
