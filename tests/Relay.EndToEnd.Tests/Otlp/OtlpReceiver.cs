using System.Collections.Concurrent;
using System.Net;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Relay.EndToEnd.Tests.Otlp.Proto;

namespace Relay.EndToEnd.Tests.Otlp;

/// <summary>
/// An OpenTelemetry collector's receiving end on loopback, speaking OTLP for real: OTLP/gRPC (the collector's
/// <c>TraceService</c>, <c>MetricsService</c> and <c>LogsService</c> over cleartext HTTP/2) on <see cref="GrpcEndpoint"/>
/// and OTLP/HTTP with protobuf bodies (<c>POST /v1/traces</c>, <c>/v1/metrics</c>, <c>/v1/logs</c>) on
/// <see cref="HttpEndpoint"/>. It keeps what it decoded and every request body exactly as it arrived.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private WebApplication? app;

    /// <summary>OTLP/gRPC: cleartext HTTP/2 with prior knowledge, as the exporter speaks it to an http:// endpoint.</summary>
    public string GrpcEndpoint { get; private set; } = "";

    /// <summary>OTLP/HTTP: the base URL; exporters append <c>/v1/traces</c> and friends.</summary>
    public string HttpEndpoint { get; private set; } = "";

    public ConcurrentQueue<ResourceSpans> Spans { get; } = new();
    public ConcurrentQueue<ResourceMetrics> Metrics { get; } = new();
    public ConcurrentQueue<ResourceLogs> Logs { get; } = new();

    /// <summary>Every export request as received: path, content encoding and body bytes.</summary>
    public ConcurrentQueue<RawExport> Requests { get; } = new();

    public sealed record RawExport(string Protocol, string Path, string? ContentEncoding, byte[] Body);

    /// <summary>What was received, with the <c>service.name</c> of the process that sent it.</summary>
    public sealed record Received<T>(string Service, T Item);

    public static async Task<OtlpReceiver> StartAsync()
    {
        // The empty builder reads no configuration, so no environment variable or appsettings file can add an endpoint.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddRoutingCore();
        builder.Services.AddGrpc();
        var receiver = new OtlpReceiver();
        builder.Services.AddSingleton(receiver);
        ListenOptions grpc = null!, http = null!;
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, listen => (grpc = listen).Protocols = HttpProtocols.Http2);
            kestrel.Listen(IPAddress.Loopback, 0, listen => (http = listen).Protocols = HttpProtocols.Http1);
        });
        var app = receiver.app = builder.Build();

        app.Use(receiver.KeepRawBodyAsync);
        app.MapGrpcService<TraceReceiver>();
        app.MapGrpcService<MetricsReceiver>();
        app.MapGrpcService<LogsReceiver>();
        app.MapPost("/v1/traces", (HttpContext context) => DecodeHttpAsync(context, ExportTraceServiceRequest.Parser,
            request => Enqueue(receiver.Spans, request.ResourceSpans), new ExportTraceServiceResponse()));
        app.MapPost("/v1/metrics", (HttpContext context) => DecodeHttpAsync(context, ExportMetricsServiceRequest.Parser,
            request => Enqueue(receiver.Metrics, request.ResourceMetrics), new ExportMetricsServiceResponse()));
        app.MapPost("/v1/logs", (HttpContext context) => DecodeHttpAsync(context, ExportLogsServiceRequest.Parser,
            request => Enqueue(receiver.Logs, request.ResourceLogs), new ExportLogsServiceResponse()));

        await app.StartAsync();
        receiver.GrpcEndpoint = $"http://127.0.0.1:{grpc.IPEndPoint!.Port}";
        receiver.HttpEndpoint = $"http://127.0.0.1:{http.IPEndPoint!.Port}";
        return receiver;
    }

    public IReadOnlyList<Received<Span>> AllSpans() =>
        [.. Spans.ToArray().SelectMany(r => r.ScopeSpans.SelectMany(s => s.Spans).Select(span => new Received<Span>(ServiceName(r.Resource), span)))];

    public IReadOnlyList<Received<Metric>> AllMetrics() =>
        [.. Metrics.ToArray().SelectMany(r => r.ScopeMetrics.SelectMany(s => s.Metrics).Select(metric => new Received<Metric>(ServiceName(r.Resource), metric)))];

    public IReadOnlyList<Received<LogRecord>> AllLogs() =>
        [.. Logs.ToArray().SelectMany(r => r.ScopeLogs.SelectMany(s => s.LogRecords).Select(record => new Received<LogRecord>(ServiceName(r.Resource), record)))];

    public static string ServiceName(Resource? resource) =>
        resource?.Attributes.FirstOrDefault(a => a.Key == "service.name")?.Value?.StringValue ?? "";

    private async Task KeepRawBodyAsync(HttpContext context, RequestDelegate next)
    {
        context.Request.EnableBuffering();
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        context.Request.Body.Position = 0;
        var encoding = context.Request.Headers.ContentEncoding.FirstOrDefault() ?? context.Request.Headers["grpc-encoding"].FirstOrDefault();
        Requests.Enqueue(new RawExport(context.Request.Protocol, context.Request.Path, encoding, body.ToArray()));
        await next(context);
    }

    private static async Task DecodeHttpAsync<TRequest>(HttpContext context, MessageParser<TRequest> parser, Action<TRequest> keep, IMessage response)
        where TRequest : IMessage<TRequest>
    {
        if (context.Request.ContentType != "application/x-protobuf")
        {
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        keep(parser.ParseFrom(body.ToArray()));
        context.Response.ContentType = "application/x-protobuf";
        await context.Response.Body.WriteAsync(response.ToByteArray(), context.RequestAborted);
    }

    private static void Enqueue<T>(ConcurrentQueue<T> queue, IEnumerable<T> items)
    {
        foreach (var item in items)
        {
            queue.Enqueue(item);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private sealed class TraceReceiver(OtlpReceiver receiver) : TraceService.TraceServiceBase
    {
        public override Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
        {
            Enqueue(receiver.Spans, request.ResourceSpans);
            return Task.FromResult(new ExportTraceServiceResponse());
        }
    }

    private sealed class MetricsReceiver(OtlpReceiver receiver) : MetricsService.MetricsServiceBase
    {
        public override Task<ExportMetricsServiceResponse> Export(ExportMetricsServiceRequest request, ServerCallContext context)
        {
            Enqueue(receiver.Metrics, request.ResourceMetrics);
            return Task.FromResult(new ExportMetricsServiceResponse());
        }
    }

    private sealed class LogsReceiver(OtlpReceiver receiver) : LogsService.LogsServiceBase
    {
        public override Task<ExportLogsServiceResponse> Export(ExportLogsServiceRequest request, ServerCallContext context)
        {
            Enqueue(receiver.Logs, request.ResourceLogs);
            return Task.FromResult(new ExportLogsServiceResponse());
        }
    }
}
