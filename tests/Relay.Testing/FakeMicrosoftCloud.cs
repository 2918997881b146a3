using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;

namespace Relay.Testing;

/// <summary>
/// An in-process stand-in for Entra ID, Microsoft Graph mail and Key Vault secrets: an HTTPS server on 127.0.0.1
/// (random port, self-signed certificate) that issues client-credentials tokens to registered apps, accepts sendMail
/// requests and drafts with attachments authorized with them (within Outlook's per-mailbox limits), serves secrets behind
/// Key Vault's challenge and records everything it receives.
/// </summary>
public sealed partial class FakeMicrosoftCloud : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly EntraDirectory _directory;
    private readonly RequestJournal _journal;
    private readonly SendMailEndpoint _sendMail;
    private readonly KeyVaultStore _keyVault;

    private FakeMicrosoftCloud(WebApplication app, X509Certificate2 certificate, EntraDirectory directory, RequestJournal journal, SendMailEndpoint sendMail, KeyVaultStore keyVault, GraphPipeline graph, MailStore mail, MessagesEndpoint messages)
    {
        _messages = messages;
        _app = app;
        _graph = graph;
        _mail = mail;
        _directory = directory;
        _journal = journal;
        _sendMail = sendMail;
        _keyVault = keyVault;
        Certificate = certificate;
        var port = new Uri(app.Urls.Single()).Port;
        AuthorityHost = new Uri($"https://127.0.0.1:{port}/");
        GraphBaseUrl = $"https://127.0.0.1:{port}/v1.0";
        KeyVaultUri = new Uri($"https://{KeyVaultStore.Host}:{port}/");
    }

    /// <summary>Starts a fake on a free loopback port with a new self-signed certificate.</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<FakeMicrosoftCloud> StartAsync(CancellationToken cancellationToken = default)
    {
        var certificate = LoopbackCertificate.Create(dnsNames: [$"*.{KeyVaultStore.ResourceHost}"]);
        var directory = new EntraDirectory();
        var journal = new RequestJournal();
        var graph = new GraphPipeline(new GraphAuthentication(directory), directory);
        var mail = new MailStore();
        var sendMail = new SendMailEndpoint(graph, journal);
        var keyVault = new KeyVaultStore();
        FakeMicrosoftCloud? cloud = null;
        var keyVaultEndpoint = new KeyVaultEndpoint(keyVault, directory, () => cloud!.AuthorityHost);
        var app = FakeCloudHost.Build(certificate, journal, new EntraTokenEndpoint(directory), sendMail, keyVaultEndpoint, new ManagedIdentityEndpoint(directory));
        TableStorageEndpoint.Map(app, new TableStorageEndpoint(() => cloud!._tables, directory));
        var messages = new MessagesEndpoint(graph, mail, journal);
        MessagesEndpoint.Map(app, messages);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            certificate.Dispose();
            throw;
        }

        cloud = new FakeMicrosoftCloud(app, certificate, directory, journal, sendMail, keyVault, graph, mail, messages);
        return cloud;
    }

    /// <summary>The Entra authority host, <c>https://127.0.0.1:{port}/</c>, for <c>TokenCredentialOptions.AuthorityHost</c>.</summary>
    /// <remarks>
    /// Also set <c>DisableInstanceDiscovery = true</c> on the credential options: otherwise MSAL first GETs
    /// <c>https://login.microsoftonline.com:{port}/common/discovery/instance</c> (the real host with this port, which never
    /// reaches the fake), and Azure.Core retries every failed attempt before MSAL falls back to this host.
    /// </remarks>
    public Uri AuthorityHost { get; }

    /// <summary>The Graph base URL, <c>https://127.0.0.1:{port}/v1.0</c>.</summary>
    public string GraphBaseUrl { get; }

    /// <summary>
    /// The vault, <c>https://relay.vault.localhost:{port}/</c>, for <c>ConnectionStrings:secrets</c>. A host name rather
    /// than 127.0.0.1 because Azure.Security.KeyVault accepts a challenge only when the vault's host ends with "." and the
    /// challenge resource's host (as <c>NAME.vault.azure.net</c> ends with <c>.vault.azure.net</c>); the fake's resource is
    /// <c>https://vault.localhost</c>. Names under <c>localhost</c> are loopback (RFC 6761 §6.3), and
    /// <see cref="CreateTrustingHandler"/> connects them to 127.0.0.1 where the system resolver does not.
    /// </summary>
    public Uri KeyVaultUri { get; }

    /// <summary>The tenant of the vault: its challenge asks for a token from this tenant. Register the reading app in it.</summary>
    public string KeyVaultTenantId
    {
        get => _keyVault.TenantId;
        set => _keyVault.TenantId = value;
    }

    /// <summary>The resource the vault's challenge names; tokens must be issued for <c>{KeyVaultResource}/.default</c>.</summary>
    public string KeyVaultResource => KeyVaultStore.Resource;

    /// <summary>How many requests reached the vault's secret endpoints (list and get), challenges and failures included.</summary>
    public int KeyVaultRequestCount => _keyVault.RequestCount;

    /// <summary>
    /// Called with the secret name (the empty string for the list of secrets) for each authorized vault request: return null to answer normally, or a
    /// <see cref="KeyVaultFault"/> to fail it. Called on server threads.
    /// </summary>
    public Func<string, KeyVaultFault?>? KeyVaultFault
    {
        get => _keyVault.Fault;
        set => _keyVault.Fault = value;
    }

    /// <summary>The self-signed server certificate (SAN IP 127.0.0.1, DNS localhost and *.vault.localhost).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>How long issued tokens live; sent as <c>expires_in</c> and <c>ext_expires_in</c> (whole seconds). Defaults to one hour.</summary>
    public TimeSpan TokenLifetime
    {
        get => _directory.TokenLifetime;
        set => _directory.TokenLifetime = value;
    }

    /// <summary>A snapshot of every request received so far, in completion order.</summary>
    public IReadOnlyList<RecordedRequest> Requests => _journal.Requests;

    /// <summary>A snapshot of every sendMail request accepted with 202 so far.</summary>
    public IReadOnlyList<SentMail> SentMail => _journal.SentMail;

    /// <summary>
    /// How many requests reached the token endpoint or the managed-identity endpoint, failed ones included (MSAL's
    /// userrealm lookups before a password grant are not token requests and are not counted).
    /// </summary>
    public int TokenRequestCount => _directory.TokenRequestCount;

    /// <summary>
    /// Whether Entra's token endpoint is down: while set, every token request (any grant) is counted and answered 503
    /// <c>temporarily_unavailable</c> AADSTS90033 ("A transient error has occurred"), as Entra answers during an outage.
    /// The managed-identity endpoint is not affected. Tokens issued before stay valid at Graph.
    /// </summary>
    public bool TokenEndpointUnavailable
    {
        get => _directory.TokenEndpointUnavailable;
        set => _directory.TokenEndpointUnavailable = value;
    }

    /// <summary>
    /// Called for each authenticated, well-formed sendMail before it is accepted (after <see cref="GraphFault"/> let it
    /// through): return null to accept it (202), or a <see cref="Testing.GraphFault"/> to fail it, stall it or drop its
    /// connection. Called on server threads.
    /// </summary>
    public Func<SendMailRequest, GraphFault?>? SendMailFault
    {
        get => _sendMail.Fault;
        set => _sendMail.Fault = value;
    }

    /// <summary>
    /// A handler whose server-certificate validation accepts exactly <see cref="Certificate"/> and nothing else.
    /// It also sends Azure Instance Metadata Service requests (<c>http://169.254.169.254/metadata/...</c>, where
    /// <c>ManagedIdentityCredential</c> asks for tokens when no <c>IDENTITY_ENDPOINT</c> is set) to the fake's IMDS endpoint.
    /// The caller owns (and disposes) it.
    /// </summary>
    public HttpMessageHandler CreateTrustingHandler()
    {
        var trusted = Certificate.RawData;
        return new ImdsRoutingHandler(AuthorityHost, new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(trusted),
            },
            ConnectCallback = ConnectAsync,
        });
    }

    /// <summary>Connects as the default handler does, except that names under <c>localhost</c> go to 127.0.0.1 (RFC 6761 §6.3).</summary>
    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, context.DnsEndPoint.Port), cancellationToken);
            }
            else
            {
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            }
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Registers an app in a tenant (creating the tenant on first use) so it can get tokens with this secret.</summary>
    /// <param name="tenantId">The tenant ID or domain used in the token URL, compared case-insensitively.</param>
    /// <param name="clientId">The application (client) ID, compared case-insensitively.</param>
    /// <param name="clientSecret">The client secret, compared exactly.</param>
    public void RegisterApp(string tenantId, string clientId, string clientSecret) =>
        _directory.Register(tenantId, clientId, clientSecret);

    /// <summary>Adds a new version of a secret to the vault (creating the secret on first use) and returns the version.</summary>
    /// <param name="name">The secret name.</param>
    /// <param name="value">The secret value.</param>
    /// <param name="contentType">The content type stored with the secret, or null.</param>
    /// <param name="expiresOn">The version's expiry (<c>exp</c>), or null for none.</param>
    public string SetSecret(string name, string value, string? contentType = null, DateTimeOffset? expiresOn = null) =>
        _keyVault.Add(name, value, contentType, managed: false, expiresOn);

    /// <summary>
    /// Enables or disables the current version of a secret (<c>attributes.enabled</c>): a disabled secret is listed with
    /// <c>enabled: false</c> and a GET of it is answered 403 <c>SecretDisabled</c>, as Key Vault does.
    /// </summary>
    /// <param name="name">The secret name.</param>
    /// <param name="enabled">Whether it is enabled.</param>
    public void SetSecretEnabled(string name, bool enabled) => _keyVault.SetEnabled(name, enabled);

    /// <summary>
    /// Adds a new version of a Key Vault certificate as Key Vault exposes it through the secret of the same name:
    /// <c>application/x-pkcs12</c> is the base64 PKCS#12 without a password, <c>application/x-pem-file</c> the PKCS#8
    /// private key followed by the certificate. Returns the version.
    /// </summary>
    /// <param name="name">The certificate (and secret) name.</param>
    /// <param name="certificate">A certificate with an exportable private key.</param>
    /// <param name="contentType"><c>application/x-pkcs12</c> or <c>application/x-pem-file</c>, as in the certificate policy.</param>
    public string ImportCertificate(string name, X509Certificate2 certificate, string contentType = "application/x-pkcs12")
    {
        var value = contentType switch
        {
            "application/x-pkcs12" => Convert.ToBase64String(certificate.Export(X509ContentType.Pkcs12)),
            "application/x-pem-file" => PrivateKeyPem(certificate) + "\n" + certificate.ExportCertificatePem() + "\n",
            _ => throw new ArgumentException($"Key Vault certificates are application/x-pkcs12 or application/x-pem-file, not {contentType}.", nameof(contentType)),
        };
        return _keyVault.Add(name, value, contentType, managed: true);
    }

    private static string PrivateKeyPem(X509Certificate2 certificate) =>
        (certificate.GetRSAPrivateKey() as AsymmetricAlgorithm ?? certificate.GetECDsaPrivateKey())?.ExportPkcs8PrivateKeyPem()
        ?? throw new ArgumentException("The certificate has no RSA or ECDSA private key.", nameof(certificate));

    /// <summary>
    /// Adds a certificate credential to an app registration (creating the tenant and the app on first use): the app can
    /// then authenticate with a client assertion signed by the certificate's key, as well as with its secret if it has one.
    /// Only the public part is used, and the fake keeps its own copy.
    /// </summary>
    /// <param name="tenantId">The tenant ID or domain used in the token URL, compared case-insensitively.</param>
    /// <param name="clientId">The application (client) ID, compared case-insensitively.</param>
    /// <param name="certificate">The certificate; the assertion's <c>x5t#S256</c> or <c>x5t</c> header must name it.</param>
    public void RegisterAppCertificate(string tenantId, string clientId, X509Certificate2 certificate) =>
        _directory.RegisterCertificate(tenantId, clientId, certificate);

    /// <summary>
    /// Registers an app with "Allow public client flows" (creating the tenant on first use, or marking an existing app):
    /// it requests password and refresh-token grants with no client credential, and Entra refuses any it sends with
    /// 401 <c>invalid_client</c> AADSTS700025.
    /// </summary>
    /// <param name="tenantId">The tenant ID or domain used in the token URL, compared case-insensitively.</param>
    /// <param name="clientId">The application (client) ID, compared case-insensitively.</param>
    public void RegisterPublicClient(string tenantId, string clientId) => _directory.RegisterPublicClient(tenantId, clientId);

    /// <summary>
    /// Adds a user who can sign in with the password grant (ROPC), or replaces the password and block of an existing one;
    /// a changed password revokes the refresh tokens issued before (AADSTS50173). The user's domain becomes "Managed" at
    /// the userrealm endpoint. The signing-in app must be registered in the same tenant. Returns the user's object ID.
    /// </summary>
    /// <param name="tenantId">The tenant ID or domain used in the token URL, compared case-insensitively.</param>
    /// <param name="userPrincipalName">The UPN, <c>name@domain</c>, compared case-insensitively.</param>
    /// <param name="password">The password, compared exactly.</param>
    /// <param name="block">Why a sign-in with the right password is still refused, if it is.</param>
    public string RegisterUser(string tenantId, string userPrincipalName, string password, UserSignInBlock block = UserSignInBlock.None)
    {
        if (userPrincipalName.IndexOf('@', StringComparison.Ordinal) is < 1 || userPrincipalName.EndsWith('@'))
        {
            throw new ArgumentException($"A user principal name is name@domain, not '{userPrincipalName}'.", nameof(userPrincipalName));
        }
        return _directory.RegisterUser(tenantId, userPrincipalName, password, block).ObjectId;
    }

    /// <summary>
    /// How many token requests were made for one principal, failed ones included: password and refresh-token grants count
    /// for the user's UPN (not the app), client-credentials grants for the client ID, and managed-identity requests for
    /// the identity's client ID. Compared case-insensitively.
    /// </summary>
    /// <param name="principal">A UPN, or a client ID.</param>
    public int TokenRequestCountFor(string principal) => _directory.TokenRequestCountFor(principal);

    /// <summary>
    /// Registers a managed identity the managed-identity endpoint issues app-only tokens for (creating the tenant on first
    /// use). There is at most one system-assigned identity, the one a request that names no identity gets; registering
    /// another replaces it. Graph accepts the tokens as the identity's client ID.
    /// </summary>
    /// <param name="tenantId">The tenant its tokens are issued in.</param>
    /// <param name="clientId">Its client ID.</param>
    /// <param name="systemAssigned">Whether it is the host's system-assigned identity rather than a user-assigned one.</param>
    public ManagedIdentityRegistration RegisterManagedIdentity(string tenantId, string clientId, bool systemAssigned = false) =>
        _directory.RegisterManagedIdentity(tenantId, clientId, systemAssigned);

    /// <summary>
    /// The managed-identity endpoint, <c>https://127.0.0.1:{port}/msi/token</c>: what App Service and Container Apps put in
    /// <c>IDENTITY_ENDPOINT</c>. MSAL accepts an https endpoint, and sends through the credential's <c>Transport</c>.
    /// </summary>
    public Uri ManagedIdentityEndpoint => new(AuthorityHost, Relay.Testing.ManagedIdentityEndpoint.AppServicePath);

    /// <summary>The secret a managed-identity request must carry as <c>X-IDENTITY-HEADER</c>: what the platform puts in <c>IDENTITY_HEADER</c>. Random per fake.</summary>
    public string ManagedIdentityHeader => _directory.ManagedIdentityHeader;

    /// <summary>
    /// Forgets the recorded requests and accepted sendMail (<see cref="Requests"/>, <see cref="SentMail"/>), bodies
    /// included: a long-running load (the benchmark harness) would otherwise keep every message it sent in memory.
    /// </summary>
    public void ClearJournal() => _journal.Clear();

    /// <summary>Forgets every issued access token, so Graph rejects them with 401 <c>InvalidAuthenticationToken</c>.</summary>
    public void RevokeTokens() => _directory.RevokeTokens();

    /// <summary>Stops the server and disposes the certificate.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Certificate.Dispose();
    }
}
