using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Relay.Contracts;
using Relay.Smtp.Delivery;

namespace Relay.Smtp.Hosting;

public static class SmtpHostingExtensions
{
    /// <summary>Service-discovery address of Relay.Sender (resource name "sender" in the AppHost).</summary>
    public const string SenderAddress = "https+http://sender";

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
        builder.Services.AddGrpcClient<MailSubmission.MailSubmissionClient>(o => o.Address = new Uri(SenderAddress))
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
}
