using System.Net;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Relay.Smtp.Hosting;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary><c>/health</c>, <c>/alive</c> and gRPC health, as a probe sees them.</summary>
public class HealthTests
{
    [Fact]
    public async Task SenderIsHealthyWhenRelaysAppGetsAGraphToken()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud);

        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(stack.SenderUrl + "/health"));
        Assert.True(cloud.TokenRequestCount > 0);
    }

    [Fact]
    public async Task SenderIsUnhealthyWhenRelaysAppCredentialIsWrongAndDoesNotAskEntraAgainForAMinute()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud, senderSettings: new Dictionary<string, string?> { ["Graph:ClientSecret"] = "not-the-secret" });

        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), await GetAsync(stack.SenderUrl + "/health"));
        var asked = cloud.TokenRequestCount;
        Assert.True(asked > 0);
        for (var probe = 0; probe < 5; probe++)
        {
            Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), await GetAsync(stack.SenderUrl + "/health"));
        }
        Assert.Equal(asked, cloud.TokenRequestCount);
        // Liveness does not depend on Graph: restarting would not fix a wrong secret.
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(stack.SenderUrl + "/alive"));
    }

    [Fact]
    public async Task SenderAsksEntraAgainOnceTheKeptResultIsAMinuteOld()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        var time = new ShiftedTime();
        await using var stack = await RelayStack.StartAsync(cloud,
            senderSettings: new Dictionary<string, string?> { ["Graph:ClientSecret"] = "not-the-secret" },
            configureSender: builder => builder.Services.AddSingleton<TimeProvider>(time));

        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), await GetAsync(stack.SenderUrl + "/health"));
        var asked = cloud.TokenRequestCount;
        time.Offset = TimeSpan.FromSeconds(59);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), await GetAsync(stack.SenderUrl + "/health"));
        Assert.Equal(asked, cloud.TokenRequestCount);
        time.Offset = TimeSpan.FromSeconds(61);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), await GetAsync(stack.SenderUrl + "/health"));
        Assert.True(cloud.TokenRequestCount > asked);
    }

    [Fact]
    public async Task SenderInPickupModeIsHealthyWithoutGraph()
    {
        await using var stack = await RelayStack.StartAsync();

        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(stack.SenderUrl + "/health"));
    }

    [Fact]
    public async Task SenderGrpcHealthServesAndFollowsTheGraphTokenCheck()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var good = await RelayStack.StartAsync(cloud);
        await using var bad = await RelayStack.StartAsync(cloud, senderSettings: new Dictionary<string, string?> { ["Graph:ClientSecret"] = "not-the-secret" });

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await GrpcHealthAsync(good.SenderUrl));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, await GrpcHealthAsync(bad.SenderUrl));
    }

    [Fact]
    public async Task SmtpIsReadyOnlyOnceItsListenersAreBound()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["services:sender:http:0"] = "http://127.0.0.1:1",
            ["Smtp:Port"] = "0",
            ["Smtp:HealthPort"] = "0",
        });
        builder.AddServiceDefaults();
        builder.AddRelaySmtp();
        await using var app = builder.Build();
        app.MapDefaultEndpoints();
        var health = app.Services.GetRequiredService<HealthCheckService>();

        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync()).Status);

        await app.StartAsync();
        try
        {
            Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);
            var listeners = app.Services.GetRequiredService<SmtpListeners>();
            Assert.NotEqual(0, listeners.PlainEndPoint!.Port);
            var url = $"http://127.0.0.1:{listeners.HealthEndPoint!.Port}";
            Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(url + "/health", http2: false));
            Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(url + "/alive", http2: false));
        }
        finally
        {
            await app.StopAsync();
        }
    }

    /// <summary>The Sender's endpoints are cleartext HTTP/2 only (for gRPC), so its probes speak h2c.</summary>
    internal static async Task<(HttpStatusCode, string)> GetAsync(string url, bool http2 = true)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (http2)
        {
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }
        using var response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<HealthCheckResponse.Types.ServingStatus> GrpcHealthAsync(string senderUrl)
    {
        using var channel = GrpcChannel.ForAddress(senderUrl);
        var response = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(30));
        return response.Status;
    }

    private sealed class ShiftedTime : TimeProvider
    {
        public TimeSpan Offset { get; set; }

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
    }
}
