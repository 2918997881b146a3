using Azure.Core;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Options;
using Microsoft.Graph;
using Microsoft.Graph.Authentication;
using Relay.Sender.Identity;
using Relay.Sender.Identity.Tokens;
using Relay.ServiceDefaults.Certificates;

namespace Relay.Sender.Delivery.Graph;

/// <summary>
/// Relay's own app identity (<c>Graph:Credential</c>: client secret, certificate, managed identity or workload identity)
/// and Graph clients that use it or a login's own credential. Relay's credential lives as long as its inputs, so its
/// token cache serves every message; a new one is built, and used from the next message on, when
/// <list type="bullet">
/// <item>the Graph settings change (a secret rotated in Key Vault reaches configuration on the next refresh);</item>
/// <item>the certificate files are replaced: their stamp is compared before each message, as Relay.Smtp does per handshake;</item>
/// <item>the Key Vault certificate has a new version: asked every <c>Graph:CertificateRefreshInterval</c>.</item>
/// </list>
/// A replacement that cannot be used (half-written file, no private key, vault unreachable) is logged once and the
/// credential in use stays. Graph clients are cheap and made per delivery on a factory-managed HttpClient.
/// </summary>
public sealed partial class GraphClientProvider : IDisposable
{
    /// <summary>Named HttpClient for Graph requests (no resilience handler: Relay owns retries).</summary>
    public const string GraphHttpClient = "graph";

    /// <summary>Entra refuses an expired certificate (AADSTS700027); two weeks' notice leaves time to upload a new one.</summary>
    private static readonly TimeSpan ExpiryWarning = TimeSpan.FromDays(14);

    private readonly IHttpClientFactory _httpClients;
    private readonly EntraCredentials _entra;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly ILogger<GraphClientProvider> _logger;
    private readonly Lock _changing = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ITimer _keyVaultTimer;
    private readonly IDisposable? _subscription;
    private volatile Identity _identity;
    private CertificateFilesStamp _failedStamp;
    private string? _unusableVersion;
    private int _refreshing;

    /// <exception cref="InvalidOperationException">The certificate cannot be loaded; the message names the setting.</exception>
    public GraphClientProvider(
        IOptionsMonitor<GraphOptions> options,
        IHttpClientFactory httpClients,
        EntraCredentials entra,
        IServiceProvider services,
        TimeProvider time,
        ILogger<GraphClientProvider> logger)
    {
        _httpClients = httpClients;
        _entra = entra;
        _services = services;
        _time = time;
        _logger = logger;
        _keyVaultTimer = time.CreateTimer(_ => _ = RefreshKeyVaultCertificateAsync(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _identity = Install(Build(options.CurrentValue, certificate: null));
        _subscription = options.OnChange(Changed);
    }

    /// <summary>Which credential Relay's app signs in with, for the start-up log: its kind and public details, never a secret.</summary>
    public string Credential => _identity.Description;

    /// <summary>A Graph client signed in as <paramref name="credential"/>, or as Relay's own app when it is null.</summary>
    public GraphServiceClient CreateClient(TokenCredential? credential = null)
    {
        var identity = credential is null ? CurrentAppIdentity() : _identity;
        var authentication = credential is null ? identity.Authentication : Authenticate(credential, identity.BaseUrl);
        return new GraphServiceClient(_httpClients.CreateClient(GraphHttpClient), authentication, identity.BaseUrl);
    }

    /// <summary>
    /// An HTTP client for attachment upload URLs: pre-authenticated (their <c>authtoken</c> is in the URL), so requests must
    /// carry no <c>Authorization</c> header (graph-facts §2). It is the Graph client's transport without a Graph client
    /// around it: tokens are added by the Graph client's authentication provider, never by the transport.
    /// </summary>
    public HttpClient CreateUploadClient() => _httpClients.CreateClient(GraphHttpClient);

    /// <summary>
    /// Gets a token for Relay's own app, as a Graph request would — from the credential's cache while it holds one —
    /// for the readiness check. Throws what the credential throws when Entra refuses it.
    /// </summary>
    public async Task GetAppTokenAsync(CancellationToken cancellationToken)
    {
        var identity = CurrentAppIdentity();
        await identity.AppCredential.GetTokenAsync(new TokenRequestContext([EntraCredentials.ScopeFor(identity.BaseUrl)]), cancellationToken);
    }

    /// <summary>
    /// Graph rejected the token of <paramref name="credential"/> (Relay's own app when null) with 401 at
    /// <paramref name="rejectedAt"/>: drop it, unless it was renewed since, so the next request signs in afresh. False
    /// when the credential cannot be renewed.
    /// </summary>
    public bool RenewToken(TokenCredential? credential, DateTimeOffset rejectedAt)
    {
        switch (credential)
        {
            case null:
                _identity.AppCredential.Renew(rejectedAt);
                return true;
            case LoginCredential login:
                login.Invalidate(rejectedAt);
                return true;
            default:
                return false;
        }
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        _keyVaultTimer.Dispose();
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private void Changed(GraphOptions graph)
    {
        if (_identity.Settings == Settings.Of(graph))
        {
            return; // A reload that left the Graph settings alone keeps the credential and its cached token.
        }
        if (graph.MissingForDelivery().ToArray() is { Length: > 0 } missing)
        {
            LogRebuildFailed(_logger, $"Graph delivery needs {string.Join(", ", missing)}");
            return;
        }
        lock (_changing)
        {
            try
            {
                Install(Build(graph, certificate: null));
                LogCredentialRebuilt(_logger, _identity.Description);
            }
            catch (InvalidOperationException ex)
            {
                LogRebuildFailed(_logger, ex.Message);
            }
        }
    }

    /// <summary>Relay's identity, loaded again first when its certificate files were replaced.</summary>
    private Identity CurrentAppIdentity()
    {
        var identity = _identity;
        if (identity is not { Files: { } files, Certificate: { } certificate })
        {
            return identity;
        }
        CertificateFilesStamp stamp;
        try
        {
            stamp = files.ReadStamp();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return identity; // Mid-replacement; the next message looks again.
        }
        if (stamp == certificate.Stamp || stamp == _failedStamp)
        {
            return identity;
        }
        lock (_changing)
        {
            identity = _identity;
            if (identity.Files != files || identity.Certificate!.Stamp == stamp || stamp == _failedStamp)
            {
                return identity;
            }
            try
            {
                Install(Build(identity.Options, AppCertificate.FromFiles(files)));
                LogCertificateReplaced(_logger, _identity.Description);
            }
            catch (Exception ex) when (CertificateMaterial.IsUnusable(ex))
            {
                // Remembered so a bad replacement is reported once, not at every message until it is fixed.
                _failedStamp = stamp;
                LogReplacementUnusable(_logger, files.CertificatePath, ex.Message);
            }
            return _identity;
        }
    }

    /// <summary>Every <c>Graph:CertificateRefreshInterval</c> while a Key Vault certificate is in use: a new version replaces it.</summary>
    private async Task RefreshKeyVaultCertificateAsync()
    {
        if (Interlocked.Exchange(ref _refreshing, 1) == 1)
        {
            return; // The previous check is still waiting for the vault.
        }
        var identity = _identity;
        var name = identity.Options.CertificateName;
        try
        {
            if (identity.Certificate is null || name is null)
            {
                return;
            }
            var client = _services.GetRequiredService<SecretClient>();
            KeyVaultSecret secret;
            try
            {
                secret = await client.GetSecretAsync(name, cancellationToken: _stopping.Token);
            }
            catch (Exception ex) when (KeyVaultFailure.IsVaultFailure(ex) || ex is OperationCanceledException && !_stopping.IsCancellationRequested)
            {
                LogKeyVaultUnreadable(_logger, name, client.VaultUri, KeyVaultFailure.Describe(ex));
                return;
            }
            var version = secret.Properties.Version;
            if (version == identity.Certificate.Version || version == _unusableVersion)
            {
                return;
            }
            try
            {
                var loaded = AppCertificate.FromKeyVault(secret, client.VaultUri);
                lock (_changing)
                {
                    if (_identity.Settings == identity.Settings)
                    {
                        Install(Build(_identity.Options, loaded));
                        LogCertificateReplaced(_logger, _identity.Description);
                    }
                }
            }
            catch (Exception ex) when (CertificateMaterial.IsUnusable(ex))
            {
                _unusableVersion = version;
                LogVersionUnusable(_logger, name, version, client.VaultUri, ex.Message);
            }
        }
        catch (Exception ex) when (!_stopping.IsCancellationRequested)
        {
            // A fault in Relay or the SDK, not in the vault or the certificate: the credential in use is still good.
            LogRefreshFault(_logger, ex, name);
        }
        catch (Exception) when (_stopping.IsCancellationRequested)
        {
            // Shutting down: there is nothing left to keep current.
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }

    private Identity Install(Identity identity)
    {
        _identity = identity;
        var interval = identity.Options.HasKeyVaultCertificate ? identity.Options.CertificateRefreshInterval : Timeout.InfiniteTimeSpan;
        _keyVaultTimer.Change(interval, interval);
        return identity;
    }

    /// <exception cref="InvalidOperationException">Naming the setting, when the certificate cannot be loaded or no credential is configured.</exception>
    private Identity Build(GraphOptions graph, AppCertificate? certificate)
    {
        var baseUrl = graph.BaseUrl.TrimEnd('/');
        var files = graph.HasCertificateFile ? new CertificateFiles(graph.CertificatePath!, graph.CertificateKeyPath, graph.CertificatePassword) : null;
        if (graph.CredentialKind == GraphCredential.Certificate)
        {
            certificate ??= files is not null ? LoadFiles(files) : LoadFromKeyVault(graph.CertificateName!);
            if (certificate.Certificate.NotAfter.ToUniversalTime() - _time.GetUtcNow().UtcDateTime < ExpiryWarning)
            {
                LogExpiring(_logger, certificate.ToString());
            }
        }
        var credential = new RenewableCredential(_entra.ForRelayApp(graph, certificate?.Certificate), _time);
        return new Identity(Settings.Of(graph), graph, credential, Authenticate(credential, baseUrl), baseUrl, Describe(graph, certificate), certificate, files);
    }

    private static AppCertificate LoadFiles(CertificateFiles files)
    {
        try
        {
            return AppCertificate.FromFiles(files);
        }
        catch (Exception ex) when (CertificateMaterial.IsUnusable(ex))
        {
            var hint = files.IsPkcs12 || files.KeyPath is not null
                ? string.Empty
                : " (a PEM certificate needs its private key in the same file or in Graph:CertificateKeyPath)";
            throw new InvalidOperationException($"Graph:CertificatePath '{files.CertificatePath}' could not be loaded: {ex.Message}{hint}", ex);
        }
    }

    /// <summary>Read synchronously, as the Key Vault configuration source is: this runs at start-up, or when the settings change.</summary>
    private AppCertificate LoadFromKeyVault(string name)
    {
        var client = _services.GetRequiredService<SecretClient>();
        try
        {
            return AppCertificate.FromKeyVault(client.GetSecret(name, cancellationToken: _stopping.Token), client.VaultUri);
        }
        catch (Exception ex) when (KeyVaultFailure.IsVaultFailure(ex) || CertificateMaterial.IsUnusable(ex))
        {
            throw new InvalidOperationException(
                $"Graph:CertificateName '{name}' could not be loaded from Key Vault {client.VaultUri}: {KeyVaultFailure.Describe(ex)}", ex);
        }
    }

    private static string Describe(GraphOptions graph, AppCertificate? certificate) => graph.CredentialKind switch
    {
        GraphCredential.ClientSecret => "client secret",
        GraphCredential.Certificate => certificate!.ToString(),
        GraphCredential.ManagedIdentity when string.IsNullOrWhiteSpace(graph.ManagedIdentityClientId) => "system-assigned managed identity",
        GraphCredential.ManagedIdentity => $"user-assigned managed identity {graph.ManagedIdentityClientId}",
        GraphCredential.WorkloadIdentity => $"workload identity, federated token file {graph.FederatedTokenFile}",
        _ => "none",
    };

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
            scopes: [EntraCredentials.ScopeFor(baseUrl)]);
    }

    /// <param name="Options">The settings it was built from, to build it again with a new certificate.</param>
    /// <param name="AppCredential">Relay's app credential, renewed when Graph rejects its token.</param>
    /// <param name="Files">The certificate files whose stamp is compared before each message; null for other credentials.</param>
    private sealed record Identity(
        Settings Settings,
        GraphOptions Options,
        RenewableCredential AppCredential,
        AzureIdentityAuthenticationProvider Authentication,
        string BaseUrl,
        string Description,
        AppCertificate? Certificate,
        CertificateFiles? Files);

    /// <summary>What the credential is built from; compared, never logged (it holds the secret and the certificate password).</summary>
    private sealed record Settings(
        string? TenantId,
        string? ClientId,
        GraphCredential? Credential,
        string? ClientSecret,
        string? CertificatePath,
        string? CertificateKeyPath,
        string? CertificatePassword,
        string? CertificateName,
        TimeSpan CertificateRefreshInterval,
        string? ManagedIdentityClientId,
        string? FederatedTokenFile,
        string AuthorityHost,
        string BaseUrl)
    {
        public static Settings Of(GraphOptions graph) => new(
            graph.TenantId, graph.ClientId, graph.CredentialKind, graph.ClientSecret, graph.CertificatePath, graph.CertificateKeyPath,
            graph.CertificatePassword, graph.CertificateName, graph.CertificateRefreshInterval, graph.ManagedIdentityClientId,
            graph.FederatedTokenFile, graph.AuthorityHost, graph.BaseUrl);

        // Records print their members; this one must not.
        public override string ToString() => nameof(Settings);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Graph settings changed; the next message signs in with the new credential: {Credential}")]
    private static partial void LogCredentialRebuilt(ILogger logger, string credential);

    [LoggerMessage(Level = LogLevel.Error, Message = "Graph settings changed but the new credential cannot be used; the credential in use stays: {Reason}")]
    private static partial void LogRebuildFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Relay's app certificate replaced; the next message signs in with {Credential}")]
    private static partial void LogCertificateReplaced(ILogger logger, string credential);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Relay's app certificate {Path} changed but could not be loaded; the certificate in use stays: {Reason}")]
    private static partial void LogReplacementUnusable(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Relay's app certificate {Name} could not be read from Key Vault {Vault}; the certificate in use stays: {Reason}")]
    private static partial void LogKeyVaultUnreadable(ILogger logger, string name, Uri vault, string reason);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Relay's app certificate {Name} version {Version} in Key Vault {Vault} cannot be used; the certificate in use stays: {Reason}")]
    private static partial void LogVersionUnusable(ILogger logger, string name, string version, Uri vault, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Checking Key Vault for a new version of Relay's app certificate {Name} failed unexpectedly; the certificate in use stays")]
    private static partial void LogRefreshFault(ILogger logger, Exception exception, string? name);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Relay's app {Credential} expires within two weeks: upload a new certificate to the app registration and replace it")]
    private static partial void LogExpiring(ILogger logger, string credential);
}
