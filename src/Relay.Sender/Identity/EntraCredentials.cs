using System.Security.Cryptography.X509Certificates;
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
/// Relay's app identity (<see cref="ForRelayApp"/>) and for every SMTP login that signs in with its own credentials.
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

    public static string ScopeFor(GraphOptions options) => ScopeFor(options.BaseUrl);

    public static string ScopeFor(string graphBaseUrl) => $"{new Uri(graphBaseUrl).GetLeftPart(UriPartial.Authority)}/.default";

    /// <summary>A client-credentials grant with a client secret, for app-credential logins and Relay's own app.</summary>
    public TokenCredential ForClientSecret(string tenantId, string clientId, string clientSecret) =>
        new ClientSecretCredential(tenantId, clientId, clientSecret, Configure(new ClientSecretCredentialOptions()));

    /// <summary>
    /// Relay's own app identity as <c>Graph:Credential</c> (or the one credential configured) says. The certificate is
    /// loaded by the caller, which also decides when a replaced one is loaded again.
    /// </summary>
    /// <exception cref="InvalidOperationException">No credential is configured, or a certificate is needed and not given.</exception>
    public TokenCredential ForRelayApp(GraphOptions options, X509Certificate2? certificate) => options.CredentialKind switch
    {
        GraphCredential.ClientSecret => ForClientSecret(options.TenantId!, options.ClientId!, options.ClientSecret!),
        GraphCredential.Certificate => ForCertificate(options.TenantId!, options.ClientId!,
            certificate ?? throw new InvalidOperationException("Relay's app certificate is not loaded.")),
        GraphCredential.ManagedIdentity => ForManagedIdentity(options.ManagedIdentityClientId),
        GraphCredential.WorkloadIdentity => ForWorkloadIdentity(options.TenantId!, options.ClientId!, options.FederatedTokenFile!),
        _ => throw new InvalidOperationException("Graph has no credential: set Graph:ClientSecret, Graph:CertificatePath, Graph:CertificateName or Graph:Credential."),
    };

    /// <summary>A client-credentials grant signed with a certificate (a JWT client assertion); the certificate needs its private key.</summary>
    public TokenCredential ForCertificate(string tenantId, string clientId, X509Certificate2 certificate) =>
        new ClientCertificateCredential(tenantId, clientId, certificate, Configure(new ClientCertificateCredentialOptions()));

    /// <summary>
    /// The host's managed identity: user-assigned by its client ID, or system-assigned when <paramref name="clientId"/> is
    /// empty. Its token comes from the host's endpoint (Container Apps and App Service: <c>IDENTITY_ENDPOINT</c>; VMs: IMDS),
    /// not from <c>Graph:AuthorityHost</c>; that endpoint is still reached over the <c>entra</c> HttpClient.
    /// </summary>
    public TokenCredential ForManagedIdentity(string? clientId) =>
        new ManagedIdentityCredential(Configure(new ManagedIdentityCredentialOptions(string.IsNullOrWhiteSpace(clientId)
            ? ManagedIdentityId.SystemAssigned
            : ManagedIdentityId.FromUserAssignedClientId(clientId))));

    /// <summary>
    /// A client-credentials grant whose client assertion is the federated token in <paramref name="tokenFilePath"/>
    /// (Kubernetes workload identity); Azure.Identity reads the file again every five minutes, as the kubelet renews it.
    /// </summary>
    public TokenCredential ForWorkloadIdentity(string tenantId, string clientId, string tokenFilePath) =>
        new WorkloadIdentityCredential(Configure(new WorkloadIdentityCredentialOptions
        {
            TenantId = tenantId,
            ClientId = clientId,
            TokenFilePath = tokenFilePath,
        }));

    /// <summary>
    /// The resource-owner password grant in <c>Graph:TenantId</c>: through <paramref name="publicClientId"/> as a public
    /// client when given; else through Relay's app (<c>Graph:ClientId</c>), as a confidential client with
    /// <c>Graph:ClientSecret</c> when that is Relay's credential, or else as a public client (the app then needs "Allow
    /// public client flows", with which Entra can refuse the app's own secret or certificate: prefer a separate app then).
    /// </summary>
    public TokenCredential ForUserPassword(string userPrincipalName, string password, string? publicClientId)
    {
        var options = graph.CurrentValue;
        if (string.IsNullOrEmpty(publicClientId) && options.CredentialKind == GraphCredential.ClientSecret)
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
        var known = IsKnownAuthority(authority);
        return ConfidentialClientApplicationBuilder.Create(options.ClientId)
            .WithAuthority(new Uri(authority, options.TenantId).ToString(), validateAuthority: known)
            .WithInstanceDiscovery(known)
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

    private static readonly Uri[] KnownAuthorities = [AzureAuthorityHosts.AzurePublicCloud, AzureAuthorityHosts.AzureGovernment, AzureAuthorityHosts.AzureChina];

    private static bool IsKnownAuthority(Uri authority) =>
        KnownAuthorities.Any(known => Uri.Compare(known, authority, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0);
}
