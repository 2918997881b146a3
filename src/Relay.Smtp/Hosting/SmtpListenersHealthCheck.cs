using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Relay.Smtp.Hosting;

/// <summary>
/// Readiness: Relay.Smtp is ready once Kestrel has bound its SMTP listeners. Kestrel binds every listener before the
/// host reports started, so until <see cref="IHostApplicationLifetime.ApplicationStarted"/> a client could not connect.
/// </summary>
public sealed class SmtpListenersHealthCheck(IHostApplicationLifetime lifetime, SmtpListeners listeners) : IHealthCheck
{
    public const string Name = "smtp-listeners";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStarted.IsCancellationRequested && listeners.PlainEndPoint is not null
            ? HealthCheckResult.Healthy($"SMTP listening on {listeners.PlainEndPoint}.")
            : HealthCheckResult.Unhealthy("SMTP listeners are not bound yet."));
}
