using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Microsoft.Extensions.Options;
using Relay.Sender.Delivery.Graph;
using Relay.Sender.Identity;
using Relay.Testing;

namespace Relay.Sender.Tests.Delivery.Graph;

/// <summary>
/// What <see cref="EntraCredentials.ForRelayApp"/> sends for each <c>Graph:Credential</c>, seen on the wire of Relay's
/// <c>entra</c> HttpClient: Azure.Identity and MSAL run for real, only the network answer is canned. (Tokens from the fake
/// cloud, through SMTP, are in the end-to-end tests.)
/// </summary>
public sealed class RelayAppCredentialTests
{
    private const string Tenant = "11111111-1111-1111-1111-111111111111";
    private const string Client = "22222222-2222-2222-2222-222222222222";
    private static readonly TokenRequestContext GraphScope = new(["https://graph.microsoft.com/.default"]);

    [Fact]
    public async Task AUserAssignedManagedIdentityAsksTheHostForAGraphTokenForThatIdentity()
    {
        // Without IDENTITY_ENDPOINT (App Service, Container Apps) and the like in the environment, MSAL asks IMDS, the
        // endpoint of VMs, scale sets and AKS nodes. Both carry the identity's client ID the same way.
        var identity = Guid.NewGuid().ToString();
        var options = new GraphOptions { ManagedIdentityClientId = identity };
        var wire = new RecordingHandler(ManagedIdentityToken);

        var token = await Credentials(options, wire).ForRelayApp(options, null).GetTokenAsync(GraphScope, CancellationToken.None);

        Assert.Equal("managed-identity-token", token.Token);
        var request = Assert.Single(wire.Requests);
        Assert.Equal(HttpMethod.Get, request.Method);
        Assert.Equal("169.254.169.254", request.Uri.Host);
        Assert.Equal("/metadata/identity/oauth2/token", request.Uri.AbsolutePath);
        Assert.Contains($"client_id={identity}", request.Uri.Query, StringComparison.Ordinal);
        Assert.Contains("resource=https", request.Uri.Query, StringComparison.Ordinal);
        Assert.Contains("graph.microsoft.com", Uri.UnescapeDataString(request.Uri.Query), StringComparison.Ordinal);
        Assert.Equal("true", request.Headers["Metadata"]);
    }

    [Fact]
    public async Task TheSystemAssignedManagedIdentityNamesNoIdentity()
    {
        var options = new GraphOptions { Credential = GraphCredential.ManagedIdentity };
        var wire = new RecordingHandler(ManagedIdentityToken);

        await Credentials(options, wire).ForRelayApp(options, null).GetTokenAsync(GraphScope, CancellationToken.None);

        var query = Assert.Single(wire.Requests).Uri.Query;
        Assert.DoesNotContain("client_id", query, StringComparison.Ordinal);
        Assert.DoesNotContain("object_id", query, StringComparison.Ordinal);
        Assert.DoesNotContain("mi_res_id", query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WorkloadIdentitySendsTheFederatedTokenFileAsTheClientAssertion()
    {
        var tokenFile = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(tokenFile, "federated.token.from-kubernetes");
            var options = new GraphOptions { Credential = GraphCredential.WorkloadIdentity, AuthorityHost = "https://login.example.test/" };
            options.UseWorkloadIdentityEnvironment(name => name switch
            {
                GraphOptions.TenantIdVariable => Tenant,
                GraphOptions.ClientIdVariable => Client,
                GraphOptions.FederatedTokenFileVariable => tokenFile,
                _ => null,
            });
            var wire = new RecordingHandler(EntraToken);

            await Credentials(options, wire).ForRelayApp(options, null).GetTokenAsync(GraphScope, CancellationToken.None);

            var request = Assert.Single(wire.Requests);
            Assert.Equal($"https://login.example.test/{Tenant}/oauth2/v2.0/token", request.Uri.GetLeftPart(UriPartial.Path));
            var form = request.Form;
            Assert.Equal("client_credentials", form["grant_type"]);
            Assert.Equal(Client, form["client_id"]);
            Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", form["client_assertion_type"]);
            Assert.Equal("federated.token.from-kubernetes", form["client_assertion"]);
        }
        finally
        {
            File.Delete(tokenFile);
        }
    }

    [Fact]
    public async Task ACertificateSignsAClientAssertionThatNamesItByItsSha256Thumbprint()
    {
        using var certificate = LoopbackCertificate.Create("Relay app");
        var options = new GraphOptions { TenantId = Tenant, ClientId = Client, CertificateName = "relay-app", AuthorityHost = "https://login.example.test/" };
        var wire = new RecordingHandler(EntraToken);

        await Credentials(options, wire).ForRelayApp(options, certificate).GetTokenAsync(GraphScope, CancellationToken.None);

        var form = Assert.Single(wire.Requests).Form;
        Assert.Equal(Client, form["client_id"]);
        Assert.False(form.ContainsKey("client_secret"));
        var parts = form["client_assertion"].Split('.');
        using var header = JsonDocument.Parse(Base64UrlDecode(parts[0]));
        using var payload = JsonDocument.Parse(Base64UrlDecode(parts[1]));
        Assert.Equal(Base64UrlEncode(SHA256.HashData(certificate.RawData)), header.RootElement.GetProperty("x5t#S256").GetString());
        Assert.Equal(Client, payload.RootElement.GetProperty("iss").GetString());
        Assert.Equal($"https://login.example.test/{Tenant}/oauth2/v2.0/token", payload.RootElement.GetProperty("aud").GetString());
    }

    [Fact]
    public void WithoutACredentialThereIsNothingToBuild()
    {
        var options = new GraphOptions { TenantId = Tenant, ClientId = Client };

        var error = Assert.Throws<InvalidOperationException>(() => Credentials(options, new RecordingHandler(EntraToken)).ForRelayApp(options, null));

        Assert.Contains("Graph:ClientSecret", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(GraphCredential.ClientSecret)]
    [InlineData(GraphCredential.ManagedIdentity)]
    public async Task ARenewedAppCredentialAsksForANewTokenOnceThenUsesItsCacheAgain(GraphCredential kind)
    {
        // MSAL shares one cache among managed-identity credentials, so building a new credential would not do.
        var options = kind == GraphCredential.ClientSecret
            ? new GraphOptions { TenantId = Tenant, ClientId = Client, ClientSecret = "s3cret", AuthorityHost = "https://login.example.test/" }
            : new GraphOptions { ManagedIdentityClientId = Guid.NewGuid().ToString() };
        var wire = new RecordingHandler(kind == GraphCredential.ClientSecret ? EntraToken : ManagedIdentityToken);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var credential = new RenewableCredential(Credentials(options, wire).ForRelayApp(options, null), time);

        await credential.GetTokenAsync(GraphScope, CancellationToken.None);
        await credential.GetTokenAsync(GraphScope, CancellationToken.None);
        var beforeRenewal = wire.Requests.Count;
        credential.Renew(time.GetUtcNow());
        await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => credential.GetTokenAsync(GraphScope, CancellationToken.None).AsTask()));
        await credential.GetTokenAsync(GraphScope, CancellationToken.None);

        Assert.Equal(1, beforeRenewal);
        Assert.Equal(2, wire.Requests.Count);
    }

    [Fact]
    public async Task ARejectionOlderThanTheLastRenewalRenewsNothingMore()
    {
        var options = new GraphOptions { TenantId = Tenant, ClientId = Client, ClientSecret = "s3cret", AuthorityHost = "https://login.example.test/" };
        var wire = new RecordingHandler(EntraToken);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var credential = new RenewableCredential(Credentials(options, wire).ForRelayApp(options, null), time);
        await credential.GetTokenAsync(GraphScope, CancellationToken.None);
        var rejectedAt = time.GetUtcNow();
        time.Advance(TimeSpan.FromSeconds(1));

        credential.Renew(rejectedAt); // The first message's 401: renewed.
        await credential.GetTokenAsync(GraphScope, CancellationToken.None);
        credential.Renew(rejectedAt); // Another message's 401 for the same old token: already renewed.
        await credential.GetTokenAsync(GraphScope, CancellationToken.None);

        Assert.Equal(2, wire.Requests.Count);
        Assert.Contains("nbf", wire.Requests[1].Form["claims"], StringComparison.Ordinal);
    }

    private static EntraCredentials Credentials(GraphOptions options, HttpMessageHandler handler) =>
        new(new FixedOptionsMonitor(options), new SingleHandlerFactory(handler));

    private static HttpResponseMessage ManagedIdentityToken(RecordedCall call) => Json(new Dictionary<string, object>
    {
        ["access_token"] = "managed-identity-token",
        ["expires_in"] = "3599",
        ["expires_on"] = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["resource"] = "https://graph.microsoft.com",
        ["token_type"] = "Bearer",
    });

    private static HttpResponseMessage EntraToken(RecordedCall call) => Json(new Dictionary<string, object>
    {
        ["token_type"] = "Bearer",
        ["expires_in"] = 3599,
        ["access_token"] = "app-token",
    });

    private static HttpResponseMessage Json(object body) => new(HttpStatusCode.OK)
    {
        Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
    };

    private static byte[] Base64UrlDecode(string value) => System.Buffers.Text.Base64Url.DecodeFromChars(value);

    private static string Base64UrlEncode(byte[] value) => System.Buffers.Text.Base64Url.EncodeToString(value);

    private sealed record RecordedCall(HttpMethod Method, Uri Uri, Dictionary<string, string> Headers, Dictionary<string, string> Form);

    private sealed class RecordingHandler(Func<RecordedCall, HttpResponseMessage> answer) : HttpMessageHandler
    {
        private readonly ConcurrentQueue<RecordedCall> _requests = new();

        public IReadOnlyList<RecordedCall> Requests => _requests.ToList();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var headers = request.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
            var form = new Dictionary<string, string>(StringComparer.Ordinal);
            if (request.Content is not null)
            {
                var body = await request.Content.ReadAsStringAsync(cancellationToken);
                foreach (var pair in body.Split('&', StringSplitOptions.RemoveEmptyEntries))
                {
                    var (name, value) = pair.Split('=', 2) is [var n, var v] ? (n, v) : (pair, string.Empty);
                    form[WebUtility.UrlDecode(name)] = WebUtility.UrlDecode(value);
                }
            }
            var call = new RecordedCall(request.Method, request.RequestUri!, headers, form);
            _requests.Enqueue(call);
            return answer(call);
        }
    }

    private sealed class SingleHandlerFactory(HttpMessageHandler handler) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(handler, disposeHandler: false);
    }

    private sealed class FixedOptionsMonitor(GraphOptions options) : IOptionsMonitor<GraphOptions>
    {
        public GraphOptions CurrentValue => options;

        public GraphOptions Get(string? name) => options;

        public IDisposable? OnChange(Action<GraphOptions, string?> listener) => null;
    }
}
