using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;

namespace Relay.Testing;

/// <summary>
/// An in-process stand-in for Entra ID and Microsoft Graph sendMail: an HTTPS server on 127.0.0.1 (random port,
/// self-signed certificate) that issues client-credentials tokens to registered apps, accepts sendMail requests
/// authorized with them and records everything it receives.
/// </summary>
public sealed class FakeMicrosoftCloud : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly EntraDirectory _directory;
    private readonly RequestJournal _journal;
    private readonly SendMailEndpoint _sendMail;

    private FakeMicrosoftCloud(WebApplication app, X509Certificate2 certificate, EntraDirectory directory, RequestJournal journal, SendMailEndpoint sendMail)
    {
        _app = app;
        _directory = directory;
        _journal = journal;
        _sendMail = sendMail;
        Certificate = certificate;
        var port = new Uri(app.Urls.Single()).Port;
        AuthorityHost = new Uri($"https://127.0.0.1:{port}/");
        GraphBaseUrl = $"https://127.0.0.1:{port}/v1.0";
    }

    /// <summary>Starts a fake on a free loopback port with a new self-signed certificate.</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<FakeMicrosoftCloud> StartAsync(CancellationToken cancellationToken = default)
    {
        var certificate = LoopbackCertificate.Create();
        var directory = new EntraDirectory();
        var journal = new RequestJournal();
        var sendMail = new SendMailEndpoint(directory, journal);
        var app = FakeCloudHost.Build(certificate, journal, new EntraTokenEndpoint(directory), sendMail);
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

        return new FakeMicrosoftCloud(app, certificate, directory, journal, sendMail);
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

    /// <summary>The self-signed server certificate (SAN IP 127.0.0.1 and DNS localhost).</summary>
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

    /// <summary>How many requests reached the token endpoint, failed ones included.</summary>
    public int TokenRequestCount => _directory.TokenRequestCount;

    /// <summary>
    /// Called for each authenticated, well-formed sendMail before it is accepted: return null to accept it (202),
    /// or a <see cref="GraphFault"/> to fail it. Called on server threads.
    /// </summary>
    public Func<SendMailRequest, GraphFault?>? SendMailFault
    {
        get => _sendMail.Fault;
        set => _sendMail.Fault = value;
    }

    /// <summary>
    /// A handler whose server-certificate validation accepts exactly <see cref="Certificate"/> and nothing else.
    /// The caller owns (and disposes) it.
    /// </summary>
    public HttpMessageHandler CreateTrustingHandler()
    {
        var trusted = Certificate.RawData;
        return new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(trusted),
            },
        };
    }

    /// <summary>Registers an app in a tenant (creating the tenant on first use) so it can get tokens with this secret.</summary>
    /// <param name="tenantId">The tenant ID or domain used in the token URL, compared case-insensitively.</param>
    /// <param name="clientId">The application (client) ID, compared case-insensitively.</param>
    /// <param name="clientSecret">The client secret, compared exactly.</param>
    public void RegisterApp(string tenantId, string clientId, string clientSecret) =>
        _directory.Register(tenantId, clientId, clientSecret);

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
