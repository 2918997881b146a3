using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Relay.EndToEnd.Tests;

/// <summary><c>Telemetry:Prometheus:Url</c>: a scrape endpoint of its own beside OTLP, over HTTP/1.1, validated at start-up.</summary>
public class PrometheusTests
{
    [Fact]
    public async Task BothServicesServeRelayMetricsInPrometheusTextFormatOverHttp11()
    {
        var senderPort = ExternalTool.FreeLoopbackPort();
        var smtpPort = ExternalTool.FreeLoopbackPort();
        var senderScrapePort = ExternalTool.FreeLoopbackPort();
        var smtpScrapePort = ExternalTool.FreeLoopbackPort();
        var pickup = Directory.CreateTempSubdirectory("relay-prometheus-pickup-");
        var sender = ExternalTool.Start(ProcessTests.ServiceExecutable("Relay.Sender"), [], ProcessTests.ServiceDirectory("Relay.Sender"), new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{senderPort}",
            ["Telemetry__Prometheus__Url"] = $"http://127.0.0.1:{senderScrapePort}/",
            ["Delivery__PickupDirectory"] = pickup.FullName,
            [$"Identity__Accounts__{RelayStack.Account}__PasswordHash"] = await ProcessTests.HashPasswordAsync(RelayStack.Password),
            [$"Identity__Accounts__{RelayStack.Account}__AllowedSenders__0"] = RelayStack.AllowedSender,
        });
        var smtp = ExternalTool.Start(ProcessTests.ServiceExecutable("Relay.Smtp"), [], ProcessTests.ServiceDirectory("Relay.Smtp"), new Dictionary<string, string>
        {
            ["services__sender__http__0"] = $"http://127.0.0.1:{senderPort}",
            ["Smtp__Port"] = smtpPort.ToString(CultureInfo.InvariantCulture),
            ["Telemetry__Prometheus__Url"] = $"http://127.0.0.1:{smtpScrapePort}",
        });
        try
        {
            await ExternalTool.WaitForPortAsync(senderPort, TimeSpan.FromSeconds(60));
            await ExternalTool.WaitForPortAsync(smtpPort, TimeSpan.FromSeconds(60));

            await SmtpClients.SendWithMailKitAsync(smtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com"));

            Assert.True(await DeliveredCountAsync(smtpScrapePort, "relay_smtp_messages_total") >= 1);
            Assert.True(await DeliveredCountAsync(senderScrapePort, "relay_sender_messages_total") >= 1);
        }
        finally
        {
            await ExternalTool.StopAsync(smtp);
            await ExternalTool.StopAsync(sender);
            pickup.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("9464")]
    [InlineData("http://127.0.0.1/")]
    [InlineData("https://127.0.0.1:9464/")]
    [InlineData("http://0.0.0.0:9464/")]
    [InlineData("http://127.0.0.1:9464/metrics")]
    [InlineData("http://127.0.0.1:70000/")]
    [InlineData("http://127.0.0.1:0/")]
    public void AScrapeUrlThatCannotBeListenedOnStopsStartUpNamingTheKey(string url)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Configuration["Telemetry:Prometheus:Url"] = url;

        var error = Assert.Throws<OptionsValidationException>(() => builder.AddServiceDefaults());

        Assert.Contains($"Telemetry:Prometheus:Url '{url}' is not a scrape address", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:9464/", "127.0.0.1", 9464)]
    [InlineData("http://localhost:9464", "localhost", 9464)]
    [InlineData("http://+:9464/", "+", 9464)]
    [InlineData("http://*:80/", "*", 80)]
    [InlineData("http://[::1]:9464/", "[::1]", 9464)]
    public void AScrapeUrlIsAnHttpListenerHostAndPort(string url, string host, int port) =>
        Assert.Equal((host, port), new PrometheusOptions { Url = url }.Listener);

    [Fact]
    public void TheScrapeEndpointIsOffUnlessSet() =>
        Assert.True(new PrometheusOptionsValidator().Validate(null, new PrometheusOptions()).Succeeded && !new PrometheusOptions().IsEnabled);

    [Fact]
    public async Task TheServiceProcessExitsAtStartWhenTheScrapeUrlIsBad()
    {
        var (exitCode, output) = await ExternalTool.RunUntilExitAsync(ProcessTests.ServiceExecutable("Relay.Smtp"), ProcessTests.ServiceDirectory("Relay.Smtp"), new Dictionary<string, string>
        {
            ["Smtp__Port"] = ExternalTool.FreeLoopbackPort().ToString(CultureInfo.InvariantCulture),
            ["Telemetry__Prometheus__Url"] = "http://0.0.0.0:9464/",
        }, TimeSpan.FromSeconds(60));

        Assert.NotEqual(0, exitCode);
        Assert.Contains(output, line => line.Contains("Telemetry:Prometheus:Url 'http://0.0.0.0:9464/' is not a scrape address", StringComparison.Ordinal));
    }

    /// <summary>Scrapes over HTTP/1.1 until the counter's <c>outcome="delivered"</c> series shows (bounded), and returns its value.</summary>
    private static async Task<long> DeliveredCountAsync(int port, string metric)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var series = new Regex($@"^{metric}\{{[^}}]*outcome=""delivered""[^}}]*\}} (?<value>[0-9]+)", RegexOptions.Multiline);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/metrics")
            {
                Version = HttpVersion.Version11,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(HttpVersion.Version11, response.Version);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
            var text = await response.Content.ReadAsStringAsync();
            if (series.Match(text) is { Success: true } match)
            {
                Assert.Contains($"# TYPE {metric} counter", text, StringComparison.Ordinal);
                return long.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
            Assert.True(DateTime.UtcNow < deadline, $"No delivered series of {metric} in:\n{text}");
            await Task.Delay(200);
        }
    }
}
