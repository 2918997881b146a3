using Microsoft.Extensions.Diagnostics.HealthChecks;
using Relay.Sender.Delivery;
using Relay.Sender.Delivery.Graph;

namespace Relay.Sender.Hosting;

/// <summary>
/// Readiness: when mail goes to Graph, Relay's app can get a token. The result is kept for <see cref="CacheFor"/>, and
/// the token itself comes from the credential's own cache, so probes every few seconds do not reach Entra.
/// Healthy without a check when delivery is to the pickup folder.
/// </summary>
public sealed partial class GraphTokenHealthCheck(IServiceProvider services, TimeProvider time, ILogger<GraphTokenHealthCheck> logger) : IHealthCheck
{
    public const string Name = "graph-token";
    public static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private (HealthCheckResult Result, DateTimeOffset At)? _last;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (services.GetRequiredService<IMessageDelivery>() is not GraphMimeDelivery)
        {
            return HealthCheckResult.Healthy("Delivery to the pickup folder; no Graph token needed.");
        }
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_last is { } last && time.GetUtcNow() - last.At < CacheFor)
            {
                return last.Result;
            }
            var result = await CheckTokenAsync(services.GetRequiredService<GraphClientProvider>(), cancellationToken);
            _last = (result, time.GetUtcNow());
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<HealthCheckResult> CheckTokenAsync(GraphClientProvider graph, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(Timeout);
        try
        {
            await graph.GetAppTokenAsync(limit.Token);
            return HealthCheckResult.Healthy("Relay's app got a Graph token.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The message says why (wrong secret, unknown app, Entra unreachable); it names no secret.
            LogTokenFailed(logger, ex.GetType().Name, ex.Message);
            return HealthCheckResult.Unhealthy($"Relay's app could not get a Graph token ({ex.GetType().Name}).");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Readiness: Relay's app could not get a Graph token: {ErrorType}: {Error}")]
    private static partial void LogTokenFailed(ILogger logger, string errorType, string error);
}
