using Azure.Core.Pipeline;
using Azure.Identity;
using Microsoft.Extensions.Options;
using Microsoft.Graph;
using Microsoft.Graph.Authentication;

namespace Relay.Sender.Delivery.Graph;

/// <summary>
/// Relay's own app identity (client credentials) and Graph clients that use it. The credential lives as long as its
/// settings, so its token cache serves every message; when the Graph settings change (a secret rotated in Key Vault
/// reaches configuration on the next refresh) the next message uses a credential built from the new values. Graph
/// clients are cheap and made per delivery on a factory-managed HttpClient.
/// </summary>
public sealed partial class GraphClientProvider : IDisposable
{
    /// <summary>Named HttpClient for Graph requests (no resilience handler: Relay owns retries).</summary>
    public const string GraphHttpClient = "graph";

    /// <summary>Named HttpClient for the Entra token endpoint (Azure.Core retries on its own).</summary>
    public const string EntraHttpClient = "entra";

    private readonly IHttpClientFactory _httpClients;
    private readonly ILogger<GraphClientProvider> _logger;
    private readonly IDisposable? _subscription;
    private volatile Identity _identity;

    public GraphClientProvider(IOptionsMonitor<GraphOptions> options, IHttpClientFactory httpClients, ILogger<GraphClientProvider> logger)
    {
        _httpClients = httpClients;
        _logger = logger;
        _identity = Build(options.CurrentValue);
        _subscription = options.OnChange(Changed);
    }

    public GraphServiceClient CreateClient()
    {
        var identity = _identity;
        return new GraphServiceClient(_httpClients.CreateClient(GraphHttpClient), identity.Authentication, identity.BaseUrl);
    }

    public void Dispose() => _subscription?.Dispose();

    private void Changed(GraphOptions graph)
    {
        if (_identity.Settings == Settings.Of(graph))
        {
            return; // A reload that left the Graph settings alone keeps the credential and its cached token.
        }
        _identity = Build(graph);
        LogCredentialRebuilt(_logger);
    }

    private Identity Build(GraphOptions graph)
    {
        var baseUrl = graph.BaseUrl.TrimEnd('/');
        var authority = new Uri(graph.AuthorityHost);
        var credential = new ClientSecretCredential(graph.TenantId, graph.ClientId, graph.ClientSecret, new ClientSecretCredentialOptions
        {
            AuthorityHost = authority,
            Transport = new HttpClientTransport(_httpClients.CreateClient(EntraHttpClient)),
            // MSAL validates unknown authorities by asking login.microsoftonline.com; an authority Relay was explicitly
            // configured with (a sovereign or private endpoint) must not send traffic anywhere else.
            DisableInstanceDiscovery = !IsKnownAuthority(authority),
        });

        // The SDK only attaches tokens for hosts it knows; national clouds and tests use other hosts, so the allowed
        // host and the scope follow Graph:BaseUrl.
        var baseUri = new Uri(baseUrl);
        var authentication = new AzureIdentityAuthenticationProvider(
            credential,
            allowedHosts: [baseUri.Host],
            observabilityOptions: null,
            isCaeEnabled: true,
            scopes: [$"{baseUri.GetLeftPart(UriPartial.Authority)}/.default"]);
        return new Identity(Settings.Of(graph), authentication, baseUrl);
    }

    private static bool IsKnownAuthority(Uri authority) =>
        new[] { AzureAuthorityHosts.AzurePublicCloud, AzureAuthorityHosts.AzureGovernment, AzureAuthorityHosts.AzureChina }
            .Any(known => Uri.Compare(known, authority, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0);

    private sealed record Identity(Settings Settings, AzureIdentityAuthenticationProvider Authentication, string BaseUrl);

    /// <summary>What the credential is built from; compared, never logged (it holds the secret).</summary>
    private sealed record Settings(string? TenantId, string? ClientId, string? ClientSecret, string AuthorityHost, string BaseUrl)
    {
        public static Settings Of(GraphOptions graph) => new(graph.TenantId, graph.ClientId, graph.ClientSecret, graph.AuthorityHost, graph.BaseUrl);

        // Records print their members; this one must not.
        public override string ToString() => nameof(Settings);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Graph settings changed; the next message signs in with the new credential")]
    private static partial void LogCredentialRebuilt(ILogger logger);
}
