using Azure.Core;
using Microsoft.Extensions.Options;
using Microsoft.Graph;
using Microsoft.Graph.Authentication;
using Relay.Sender.Identity;

namespace Relay.Sender.Delivery.Graph;

/// <summary>
/// Relay's own app identity (client credentials) and Graph clients that use it or a login's own credential. Relay's
/// credential lives as long as its settings, so its token cache serves every message; when the Graph settings change (a
/// secret rotated in Key Vault reaches configuration on the next refresh) the next message uses a credential built from
/// the new values. Graph clients are cheap and made per delivery on a factory-managed HttpClient.
/// </summary>
public sealed partial class GraphClientProvider : IDisposable
{
    /// <summary>Named HttpClient for Graph requests (no resilience handler: Relay owns retries).</summary>
    public const string GraphHttpClient = "graph";

    private readonly IHttpClientFactory _httpClients;
    private readonly EntraCredentials _entra;
    private readonly ILogger<GraphClientProvider> _logger;
    private readonly IDisposable? _subscription;
    private volatile Identity _identity;

    public GraphClientProvider(IOptionsMonitor<GraphOptions> options, IHttpClientFactory httpClients, EntraCredentials entra, ILogger<GraphClientProvider> logger)
    {
        _httpClients = httpClients;
        _entra = entra;
        _logger = logger;
        _identity = Build(options.CurrentValue);
        _subscription = options.OnChange(Changed);
    }

    /// <summary>A Graph client signed in as <paramref name="credential"/>, or as Relay's own app when it is null.</summary>
    public GraphServiceClient CreateClient(TokenCredential? credential = null)
    {
        var identity = _identity;
        var authentication = credential is null ? identity.Authentication : Authenticate(credential, identity.BaseUrl);
        return new GraphServiceClient(_httpClients.CreateClient(GraphHttpClient), authentication, identity.BaseUrl);
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
        var credential = _entra.ForClientSecret(graph.TenantId!, graph.ClientId!, graph.ClientSecret!);
        return new Identity(Settings.Of(graph), Authenticate(credential, baseUrl), baseUrl);
    }

    /// <summary>
    /// The SDK only attaches tokens for hosts it knows; national clouds and tests use other hosts, so the allowed host
    /// and the scope follow Graph:BaseUrl.
    /// </summary>
    private static AzureIdentityAuthenticationProvider Authenticate(TokenCredential credential, string baseUrl)
    {
        var baseUri = new Uri(baseUrl);
        return new AzureIdentityAuthenticationProvider(
            credential,
            allowedHosts: [baseUri.Host],
            observabilityOptions: null,
            isCaeEnabled: true,
            scopes: [$"{baseUri.GetLeftPart(UriPartial.Authority)}/.default"]);
    }

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
