using Azure.Core.Pipeline;
using Azure.Identity;
using Microsoft.Extensions.Options;
using Microsoft.Graph;
using Microsoft.Graph.Authentication;

namespace Relay.Sender.Delivery.Graph;

/// <summary>
/// Relay's own app identity (client credentials) and Graph clients that use it. The credential is created once, so its
/// token cache serves every message; Graph clients are cheap and made per delivery on a factory-managed HttpClient.
/// </summary>
public sealed class GraphClientProvider
{
    /// <summary>Named HttpClient for Graph requests (no resilience handler: Relay owns retries).</summary>
    public const string GraphHttpClient = "graph";

    /// <summary>Named HttpClient for the Entra token endpoint (Azure.Core retries on its own).</summary>
    public const string EntraHttpClient = "entra";

    private readonly IHttpClientFactory _httpClients;
    private readonly AzureIdentityAuthenticationProvider _authentication;
    private readonly string _baseUrl;

    public GraphClientProvider(IOptions<GraphOptions> options, IHttpClientFactory httpClients)
    {
        var graph = options.Value;
        _httpClients = httpClients;
        _baseUrl = graph.BaseUrl.TrimEnd('/');
        var authority = new Uri(graph.AuthorityHost);
        var credential = new ClientSecretCredential(graph.TenantId, graph.ClientId, graph.ClientSecret, new ClientSecretCredentialOptions
        {
            AuthorityHost = authority,
            Transport = new HttpClientTransport(httpClients.CreateClient(EntraHttpClient)),
            // MSAL validates unknown authorities by asking login.microsoftonline.com; an authority Relay was explicitly
            // configured with (a sovereign or private endpoint) must not send traffic anywhere else.
            DisableInstanceDiscovery = !IsKnownAuthority(authority),
        });

        // The SDK only attaches tokens for hosts it knows; national clouds and tests use other hosts, so the allowed
        // host and the scope follow Graph:BaseUrl.
        var baseUri = new Uri(_baseUrl);
        _authentication = new AzureIdentityAuthenticationProvider(
            credential,
            allowedHosts: [baseUri.Host],
            observabilityOptions: null,
            isCaeEnabled: true,
            scopes: [$"{baseUri.GetLeftPart(UriPartial.Authority)}/.default"]);
    }

    private static bool IsKnownAuthority(Uri authority) =>
        new[] { AzureAuthorityHosts.AzurePublicCloud, AzureAuthorityHosts.AzureGovernment, AzureAuthorityHosts.AzureChina }
            .Any(known => Uri.Compare(known, authority, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0);

    public GraphServiceClient CreateClient() =>
        new(_httpClients.CreateClient(GraphHttpClient), _authentication, _baseUrl);
}
