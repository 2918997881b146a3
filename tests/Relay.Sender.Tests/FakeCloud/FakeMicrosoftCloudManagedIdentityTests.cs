using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Relay.Testing;
using static Relay.Sender.Tests.FakeCloud.FakeCloudClients;

namespace Relay.Sender.Tests.FakeCloud;

/// <summary>
/// The managed-identity endpoints of <see cref="FakeMicrosoftCloud"/>: App Service's (<c>IDENTITY_ENDPOINT</c>), driven
/// with requests shaped exactly as MSAL 4.83.1 sends them, and IMDS, driven by the real ManagedIdentityCredential.
/// </summary>
/// <remarks>
/// MSAL keeps managed-identity tokens in one cache for the whole process, whatever the credential or transport: a token
/// one test's fake issued would be served to another test asking for the same identity and resource. So every test that
/// uses ManagedIdentityCredential asks for a user-assigned identity with a client ID of its own.
/// </remarks>
public sealed class FakeMicrosoftCloudManagedIdentityTests
{
    private const string TenantId = "3a5c7e9b-1d3f-4a62-8b4d-6f8a0c2e4a63";
    private const string Mailbox = "relay@contoso.com";
    private const string GraphResource = "https://graph.microsoft.com";

    [Fact]
    public async Task AnAppServiceRequestShapedAsMsalSendsItGetsATokenGraphAcceptsAsTheIdentity()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        var identity = cloud.RegisterManagedIdentity(TenantId, NewClientId(), systemAssigned: true);
        using var http = new HttpClient(cloud.CreateTrustingHandler());

        // MSAL's App Service source: GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://graph.microsoft.com (unescaped)
        // with X-IDENTITY-HEADER: {IDENTITY_HEADER}, and client_id=, mi_res_id= or object_id= for a user-assigned identity.
        using var request = AppServiceRequest(cloud, $"resource={GraphResource}");
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        Assert.Equal(["access_token", "expires_on", "resource", "token_type", "client_id"], root.EnumerateObject().Select(property => property.Name));
        var expiresOn = DateTimeOffset.FromUnixTimeSeconds(long.Parse(root.GetProperty("expires_on").GetString()!, CultureInfo.InvariantCulture));
        Assert.InRange(expiresOn, DateTimeOffset.UtcNow.AddMinutes(59), DateTimeOffset.UtcNow.AddMinutes(61));
        Assert.Equal(GraphResource, root.GetProperty("resource").GetString());
        Assert.Equal("Bearer", root.GetProperty("token_type").GetString());
        Assert.Equal(identity.ClientId, root.GetProperty("client_id").GetString());

        await SendMimeWithTokenAsync(http, cloud, root.GetProperty("access_token").GetString()!);
        var mail = Assert.Single(cloud.SentMail);
        Assert.Equal(identity.ClientId, mail.Principal);
        Assert.False(mail.IsDelegated);
        Assert.Equal(1, cloud.TokenRequestCount);
        Assert.Equal(1, cloud.TokenRequestCountFor(identity.ClientId));
    }

    [Theory]
    [InlineData("client_id")]
    [InlineData("mi_res_id")]
    [InlineData("object_id")]
    [InlineData("principal_id")]
    public async Task AUserAssignedIdentityIsChosenByAnyOfItsIdentifiers(string parameter)
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.RegisterManagedIdentity(TenantId, NewClientId(), systemAssigned: true);
        var identity = cloud.RegisterManagedIdentity(TenantId, NewClientId());
        var value = parameter switch
        {
            "client_id" => identity.ClientId,
            "mi_res_id" => identity.ResourceId!,
            _ => identity.ObjectId,
        };
        using var http = new HttpClient(cloud.CreateTrustingHandler());

        using var request = AppServiceRequest(cloud, $"resource={GraphResource}&{parameter}={value}");
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(identity.ClientId, body.RootElement.GetProperty("client_id").GetString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-the-secret")]
    public async Task AnAppServiceRequestWithoutTheRightIdentityHeaderIs401(string? header)
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.RegisterManagedIdentity(TenantId, NewClientId(), systemAssigned: true);
        using var http = new HttpClient(cloud.CreateTrustingHandler());

        using var request = AppServiceRequest(cloud, $"resource={GraphResource}", header);
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(401, body.RootElement.GetProperty("statusCode").GetInt32());
        Assert.Contains("X-IDENTITY-HEADER", body.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(cloud.SentMail);
    }

    [Theory]
    [InlineData(true, "client_id=00000000-0000-0000-0000-00000000dead")]
    [InlineData(false, "")]
    public async Task AnAppServiceRequestForAnIdentityTheHostDoesNotHaveIs400(bool registerSystemAssigned, string selector)
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        if (registerSystemAssigned)
        {
            cloud.RegisterManagedIdentity(TenantId, NewClientId(), systemAssigned: true);
        }
        else
        {
            cloud.RegisterManagedIdentity(TenantId, NewClientId());
        }
        using var http = new HttpClient(cloud.CreateTrustingHandler());

        using var request = AppServiceRequest(cloud, $"resource={GraphResource}&{selector}");
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Unable to load the proper Managed Identity.", body.RootElement.GetProperty("message").GetString());
        Assert.Equal(1, cloud.TokenRequestCount);
    }

    [Fact]
    public async Task ManagedIdentityCredentialGetsATokenFromTheFakeImdsThroughTheTrustingHandler()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        var identity = cloud.RegisterManagedIdentity(TenantId, NewClientId());
        var credential = new ManagedIdentityCredential(new ManagedIdentityCredentialOptions(ManagedIdentityId.FromUserAssignedClientId(identity.ClientId))
        {
            Transport = new HttpClientTransport(cloud.CreateTrustingHandler()),
        });
        using var graph = Graph(cloud, credential);

        await SendMimeAsync(graph, Mailbox);

        Assert.Equal(identity.ClientId, Assert.Single(cloud.SentMail).Principal);
        // With no IDENTITY_ENDPOINT set MSAL asks IMDS (http://169.254.169.254); the trusting handler brings that to the fake.
        var imds = cloud.Requests.Single(request => request.Path == "/metadata/identity/oauth2/token");
        // MSAL writes the query values unescaped.
        Assert.Equal($"?api-version=2018-02-01&resource={GraphResource}&client_id={identity.ClientId}", imds.Query);
        Assert.Equal("true", imds.Headers["Metadata"]);
        Assert.Equal(1, cloud.TokenRequestCountFor(identity.ClientId));
    }

    [Fact]
    public async Task ManagedIdentityCredentialForAnIdentityTheHostDoesNotHaveFails()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        var unknown = NewClientId();
        var credential = new ManagedIdentityCredential(new ManagedIdentityCredentialOptions(ManagedIdentityId.FromUserAssignedClientId(unknown))
        {
            Transport = new HttpClientTransport(cloud.CreateTrustingHandler()),
        });

        var failure = await Assert.ThrowsAnyAsync<AuthenticationFailedException>(
            async () => await credential.GetTokenAsync(new TokenRequestContext(GraphScopes), CancellationToken.None));

        Assert.Contains("Identity not found", failure.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, cloud.TokenRequestCountFor(unknown));
    }

    [Fact]
    public async Task AnImdsRequestWithoutTheMetadataHeaderIs400()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.RegisterManagedIdentity(TenantId, NewClientId(), systemAssigned: true);
        using var http = new HttpClient(cloud.CreateTrustingHandler());

        using var response = await http.GetAsync($"http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource={GraphResource}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_request", body.RootElement.GetProperty("error").GetString());
        Assert.Equal("Required metadata header not specified", body.RootElement.GetProperty("error_description").GetString());
    }

    /// <summary>A client ID no other test uses, so MSAL's process-wide managed-identity cache cannot serve another fake's token.</summary>
    private static string NewClientId() => Guid.NewGuid().ToString();

    /// <summary>A request as MSAL's App Service source makes it, with the fake's <c>IDENTITY_HEADER</c>.</summary>
    private static HttpRequestMessage AppServiceRequest(FakeMicrosoftCloud cloud, string query) =>
        AppServiceRequest(cloud, query, cloud.ManagedIdentityHeader);

    /// <param name="cloud">The fake.</param>
    /// <param name="query">The query after <c>api-version=2019-08-01&amp;</c>.</param>
    /// <param name="identityHeader">The <c>X-IDENTITY-HEADER</c> value, or null to send none.</param>
    private static HttpRequestMessage AppServiceRequest(FakeMicrosoftCloud cloud, string query, string? identityHeader)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"{cloud.ManagedIdentityEndpoint}?api-version=2019-08-01&{query}");
        if (identityHeader is not null)
        {
            request.Headers.Add("X-IDENTITY-HEADER", identityHeader);
        }
        return request;
    }

    private static async Task SendMimeWithTokenAsync(HttpClient http, FakeMicrosoftCloud cloud, string accessToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/sendMail")
        {
            Content = new StringContent(Convert.ToBase64String(SampleMime), Encoding.ASCII, "text/plain"),
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", accessToken) },
        };
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }
}
