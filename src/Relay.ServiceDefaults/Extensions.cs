using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Shared service defaults, shaped like the Aspire 13.5 template: OpenTelemetry, health checks, service discovery
/// and HTTP resilience. Relay's own activity sources and meters are registered here so both services export them.
/// </summary>
public static partial class Extensions
{
    /// <summary>Activity sources and meters that Relay's services emit; names are part of the telemetry contract.</summary>
    public static readonly string[] RelayTelemetryNames = ["Relay.Smtp", "Relay.Sender"];

    private const string HealthEndpointPath = "/health";
    private const string AlivenessEndpointPath = "/alive";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        return builder;
    }

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            // The SDK's default service.name is "unknown_service:<process name>": "dotnet" for both services when they run
            // as `dotnet Relay.X.dll` (systemd). The application's name instead; the environment detector is added again
            // after it so that OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (which Aspire sets) still win.
            .ConfigureResource(resource => resource
                .AddService(builder.Environment.ApplicationName)
                .AddEnvironmentVariableDetector())
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(RelayTelemetryNames))
            .WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                .AddSource(RelayTelemetryNames)
                .AddAspNetCoreInstrumentation(options =>
                    options.Filter = context =>
                        !context.Request.Path.StartsWithSegments(HealthEndpointPath)
                        && !context.Request.Path.StartsWithSegments(AlivenessEndpointPath))
                .AddGrpcClientInstrumentation()
                .AddHttpClientInstrumentation(options =>
                {
                    // Graph URLs name the mailbox (/users/scanner@contoso.com/sendMail), which is personal data: spans
                    // keep /users/{id}/…, as Graph's own route templates write it. Set at the start and again at the end,
                    // whichever of System.Net.Http's own tags comes last.
                    options.EnrichWithHttpRequestMessage = (activity, request) => RedactUrl(activity, request.RequestUri);
                    options.EnrichWithHttpResponseMessage = (activity, response) => RedactUrl(activity, response.RequestMessage?.RequestUri);
                    options.EnrichWithException = (activity, _) => RedactUrl(activity, null);
                }));

        builder.AddOpenTelemetryExporters();
        builder.AddPrometheusScrapeEndpoint();
        return builder;
    }

    private static void RedactUrl(System.Diagnostics.Activity activity, Uri? uri)
    {
        var full = uri?.AbsoluteUri ?? activity.GetTagItem("url.full") as string;
        if (full is not null)
        {
            activity.SetTag("url.full", MailboxInPath().Replace(full, "/users/{id}"));
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex("/users/[^/?#]+", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex MailboxInPath();

    private static TBuilder AddOpenTelemetryExporters<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        // Nothing is exported unless the AppHost (or the operator) points OTEL_EXPORTER_OTLP_ENDPOINT somewhere.
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }
        return builder;
    }

    /// <summary>
    /// With <c>Telemetry:Prometheus:Url</c> set, serves the metrics for Prometheus to scrape on a listener of their own;
    /// a value that cannot be one stops start-up, naming the key. OTLP export is unaffected: both can be on.
    /// </summary>
    private static TBuilder AddPrometheusScrapeEndpoint<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var options = builder.Configuration.GetSection(PrometheusOptions.SectionName).Get<PrometheusOptions>() ?? new PrometheusOptions();
        if (!options.IsEnabled)
        {
            return builder;
        }
        var validation = new PrometheusOptionsValidator().Validate(Options.Options.DefaultName, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(PrometheusOptions.UrlKey, typeof(PrometheusOptions), validation.Failures);
        }
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddPrometheusHttpListener(listener =>
        {
            (listener.Host, listener.Port) = options.Listener!.Value;
            listener.ScrapeEndpointPath = PrometheusOptions.ScrapePath;
        }));
        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        return builder;
    }

    /// <summary>
    /// Maps <c>/health</c> (every check) and <c>/alive</c> (liveness only). Unlike the template these are mapped in
    /// every environment: Container Apps probes and systemd watchdogs need them in production. They reveal nothing
    /// but the aggregate status.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(HealthEndpointPath);
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions { Predicate = r => r.Tags.Contains("live") });
        return app;
    }
}
