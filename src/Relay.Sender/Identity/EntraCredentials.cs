using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Microsoft.Identity.Client;
using Microsoft.Extensions.Options;
using Relay.Sender.Delivery.Graph;

namespace Relay.Sender.Identity;

/// <summary>
/// Azure.Identity credentials that talk to the Entra authority of <c>Graph:AuthorityHost</c> over Relay's own
/// <c>entra</c> HttpClient, and the Graph scope they ask for. One place decides authority, transport and retries for
/// Relay's app identity and for every SMTP login that signs in with its own credentials.
/// </summary>
public sealed class EntraCredentials(IOptionsMonitor<GraphOptions> graph, IHttpClientFactory httpClients)
{
    /// <summary>Named HttpClient for the Entra token endpoint (Azure.Core retries on its own).</summary>
    public const string HttpClientName = "entra";

    /// <summary>
    /// Token requests made while an SMTP client waits for its AUTH reply give up well inside Relay.Smtp's one-minute
    /// deadline: one retry, at most 15 seconds per attempt.
    /// </summary>
    private static readonly TimeSpan NetworkTimeout = TimeSpan.FromSeconds(15);

    /// <summary><c>{Graph host}/.default</c>: the app's (or user's) Graph permissions, for whichever cloud Graph:BaseUrl names.</summary>
    public string GraphScope => ScopeFor(graph.CurrentValue);

    public static string ScopeFor(GraphOptions options) => $"{new Uri(options.BaseUrl).GetLeftPart(UriPartial.Authority)}/.default";

    /// <summary>A client-credentials grant with a client secret, for app-credential logins and Relay's own app.</summary>
    public TokenCredential ForClientSecret(string tenantId, string clientId, string clientSecret) =>
        new ClientSecretCredential(tenantId, clientId, clientSecret, Configure(new ClientSecretCredentialOptions()));

    /// <summary>
    /// The resource-owner password grant in <c>Graph:TenantId</c>: through <paramref name="publicClientId"/> as a public
    /// client when given; else through Relay's app (<c>Graph:ClientId</c>), as a confidential client with
    /// <c>Graph:ClientSecret</c> when Relay has one, or as a public client (the app then needs "Allow public client flows").
    /// </summary>
    public TokenCredential ForUserPassword(string userPrincipalName, string password, string? publicClientId)
    {
        var options = graph.CurrentValue;
        if (string.IsNullOrEmpty(publicClientId) && !string.IsNullOrEmpty(options.ClientSecret))
        {
            return new ConfidentialPasswordCredential(() => ConfidentialClient(options), userPrincipalName, password);
        }
        // Deprecated by Azure.Identity because ROPC cannot do MFA. That is the point of mailbox logins: devices that
        // can only send a password. Relay refuses such logins clearly when Entra asks for MFA (EntraLoginErrors).
#pragma warning disable CS0618
        return new UsernamePasswordCredential(userPrincipalName, password, options.TenantId, publicClientId ?? options.ClientId,
            Configure(new UsernamePasswordCredentialOptions()));
#pragma warning restore CS0618
    }

    private IConfidentialClientApplication ConfidentialClient(GraphOptions options)
    {
        var authority = new Uri(options.AuthorityHost);
        return ConfidentialClientApplicationBuilder.Create(options.ClientId)
            .WithAuthority(new Uri(authority, options.TenantId).ToString(), validateAuthority: IsKnownAuthority(authority))
            .WithInstanceDiscovery(IsKnownAuthority(authority))
            .WithClientSecret(options.ClientSecret)
            .WithHttpClientFactory(new MsalHttpClients(httpClients))
            .Build();
    }

    /// <summary>MSAL's HTTP through the same <c>entra</c> HttpClient as every other token request.</summary>
    private sealed class MsalHttpClients(IHttpClientFactory httpClients) : IMsalHttpClientFactory
    {
        public HttpClient GetHttpClient() => httpClients.CreateClient(HttpClientName);
    }

    /// <summary>Authority, transport and retries for any Azure.Identity credential options.</summary>
    public T Configure<T>(T options) where T : TokenCredentialOptions
    {
        var authority = new Uri(graph.CurrentValue.AuthorityHost);
        options.AuthorityHost = authority;
        options.Transport = new HttpClientTransport(httpClients.CreateClient(HttpClientName));
        options.Retry.MaxRetries = 1;
        options.Retry.NetworkTimeout = NetworkTimeout;
        // MSAL validates unknown authorities by asking login.microsoftonline.com; an authority Relay was explicitly
        // configured with (a sovereign or private endpoint) must not send traffic anywhere else.
        var disable = !IsKnownAuthority(authority);
        switch (options)
        {
            case ClientSecretCredentialOptions secret:
                secret.DisableInstanceDiscovery = disable;
                break;
            case ClientCertificateCredentialOptions certificate:
                certificate.DisableInstanceDiscovery = disable;
                break;
#pragma warning disable CS0618 // See ForUserPassword.
            case UsernamePasswordCredentialOptions password:
                password.DisableInstanceDiscovery = disable;
                break;
#pragma warning restore CS0618
            case WorkloadIdentityCredentialOptions workload:
                workload.DisableInstanceDiscovery = disable;
                break;
        }
        return options;
    }

    private static bool IsKnownAuthority(Uri authority) =>
        new[] { AzureAuthorityHosts.AzurePublicCloud, AzureAuthorityHosts.AzureGovernment, AzureAuthorityHosts.AzureChina }
            .Any(known => Uri.Compare(known, authority, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0);
}
