using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// <c>Telemetry:Prometheus:Url</c>: where a Prometheus server scrapes Relay's metrics, beside (or instead of) OTLP. Off
/// unless set. The scrape endpoint is <c>{Url}metrics</c>, served by its own <see cref="System.Net.HttpListener"/> over
/// HTTP/1.1: Relay.Sender's Kestrel speaks HTTP/2 only (gRPC) and Relay.Smtp's ports speak SMTP.
/// </summary>
public sealed partial class PrometheusOptions
{
    public const string SectionName = "Telemetry:Prometheus";

    /// <summary>The configuration key, as error messages name it.</summary>
    public const string UrlKey = SectionName + ":Url";

    /// <summary>The path under <see cref="Url"/> that Prometheus scrapes (its own default).</summary>
    public const string ScrapePath = "/metrics";

    /// <summary>
    /// <c>http://HOST:PORT/</c>: <c>http://127.0.0.1:9464/</c> for this machine only; <c>http://+:9464/</c> for every
    /// address (containers). 9464 is the port OpenTelemetry's Prometheus exporters default to.
    /// </summary>
    public string? Url { get; set; }

    public bool IsEnabled => !string.IsNullOrWhiteSpace(Url);

    /// <summary>The host and port to listen on; null when <see cref="Url"/> is not usable.</summary>
    public (string Host, int Port)? Listener
    {
        get
        {
            var match = ListenerUrl().Match(Url?.Trim() ?? "");
            return match.Success && int.TryParse(match.Groups["port"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var port)
                && port is > 0 and <= 65535 && match.Groups["host"].Value != "0.0.0.0"
                ? (match.Groups["host"].Value, port)
                : null;
        }
    }

    // HttpListener's prefix grammar, not System.Uri's: '+' and '*' (every address) are hosts to it, and Uri refuses them.
    // https is left out: HttpListener on Linux has no certificate configuration worth the name.
    [GeneratedRegex(@"^http://(?<host>\+|\*|\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z.-]+):(?<port>[0-9]{1,5})/?$", RegexOptions.CultureInvariant)]
    private static partial Regex ListenerUrl();
}

/// <summary>An unset URL turns the scrape endpoint off; a set one must be a listener prefix with a port.</summary>
public sealed class PrometheusOptionsValidator : IValidateOptions<PrometheusOptions>
{
    public ValidateOptionsResult Validate(string? name, PrometheusOptions options) =>
        !options.IsEnabled || options.Listener is not null
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"{PrometheusOptions.UrlKey} '{options.Url}' is not a scrape address such as http://127.0.0.1:9464/ (this machine) or "
                + "http://+:9464/ (every address): http, a host, a port from 1 to 65535 and no path. Use '+' rather than 0.0.0.0, which HttpListener refuses.");
}
