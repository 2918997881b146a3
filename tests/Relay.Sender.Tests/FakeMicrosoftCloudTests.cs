using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Microsoft.Graph;
using Microsoft.Graph.Authentication;
using Microsoft.Graph.Models;
using Microsoft.Graph.Models.ODataErrors;
using Microsoft.Graph.Users.Item.SendMail;
using Microsoft.Identity.Client;
using Microsoft.Kiota.Abstractions.Serialization;
using Microsoft.Kiota.Http.HttpClientLibrary.Middleware.Options;
using Relay.Testing;

namespace Relay.Sender.Tests;

/// <summary>Proves <see cref="FakeMicrosoftCloud"/> against the real Azure.Identity and Microsoft.Graph SDKs.</summary>
public sealed class FakeMicrosoftCloudTests
{
    private const string TenantId = "7d4c1a52-0f3e-4a8b-9c61-2b5e8f0d9a17";
    private const string ClientId = "3f2b9e41-6c0d-4f7a-8e25-91d4b6c7a0e3";
    private const string ClientSecret = "fake~Secret.Value_0123456789";
    private const string Mailbox = "relay@contoso.com";
    private const int FourMiB = 4 * 1024 * 1024;

    private static readonly string[] GraphScopes = ["https://graph.microsoft.com/.default"];

    private static readonly Dictionary<string, ParsableFactory<IParsable>> ODataErrorMapping = new()
    {
        ["XXX"] = ODataError.CreateFromDiscriminatorValue,
    };

    private static readonly byte[] SampleMime = Encoding.ASCII.GetBytes(
        "From: relay@contoso.com\r\nTo: someone@example.com\r\nSubject: Hello\r\nMIME-Version: 1.0\r\n" +
        "Content-Type: text/plain; charset=us-ascii\r\n\r\nHello from the relay.\r\n");

    [Fact]
    public async Task ClientSecretCredentialGetsATokenFromTheFakeAuthority()
    {
        await using var cloud = await StartCloudAsync();
        var observer = new ObservingHandler(cloud.CreateTrustingHandler());
        var credential = CreateCredential(cloud, ClientSecret, observer);

        var token = await credential.GetTokenAsync(new TokenRequestContext(GraphScopes), CancellationToken.None);

        Assert.False(string.IsNullOrEmpty(token.Token));
        Assert.InRange(token.ExpiresOn, DateTimeOffset.UtcNow.AddMinutes(59), DateTimeOffset.UtcNow.AddMinutes(61));
        // MSAL makes no discovery or metadata request against a custom authority host: the token POST is all it sends.
        Assert.Equal([$"POST {cloud.AuthorityHost}{TenantId}/oauth2/v2.0/token"], observer.Requests);
        var recorded = Assert.Single(cloud.Requests);
        Assert.Equal(200, recorded.StatusCode);
        Assert.Equal(1, cloud.TokenRequestCount);
    }

    [Fact]
    public async Task ClientSecretCredentialWithAWrongSecretFailsWithAadsts7000215()
    {
        await using var cloud = await StartCloudAsync();
        var credential = CreateCredential(cloud, "not-the-secret");

        var failure = await Assert.ThrowsAsync<AuthenticationFailedException>(
            async () => await credential.GetTokenAsync(new TokenRequestContext(GraphScopes), CancellationToken.None));

        // AuthenticationFailedException.Message stops at "ClientSecretCredential authentication failed: "; Entra's text is inside.
        var msal = Assert.IsType<MsalServiceException>(failure.InnerException);
        Assert.Equal("invalid_client", msal.ErrorCode);
        Assert.Equal(401, msal.StatusCode);
        Assert.Contains("AADSTS7000215", msal.Message, StringComparison.Ordinal);
        Assert.Equal(401, Assert.Single(cloud.Requests).StatusCode);
    }

    [Theory]
    [InlineData("contoso.example", ClientId, ClientSecret, 400, "invalid_request", 90002)]
    [InlineData(TenantId, "00000000-0000-0000-0000-000000000001", ClientSecret, 400, "unauthorized_client", 700016)]
    [InlineData(TenantId, ClientId, "not-the-secret", 401, "invalid_client", 7000215)]
    public async Task TokenEndpointErrorsHaveEntrasShape(string tenant, string clientId, string clientSecret, int status, string error, int errorCode)
    {
        await using var cloud = await StartCloudAsync();
        using var http = new HttpClient(cloud.CreateTrustingHandler()) { BaseAddress = cloud.AuthorityHost };

        using var response = await http.PostAsync($"{tenant}/oauth2/v2.0/token", ClientCredentialsForm(clientId, clientSecret));

        Assert.Equal(status, (int)response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        Assert.Equal(error, root.GetProperty("error").GetString());
        Assert.StartsWith($"AADSTS{errorCode}: ", root.GetProperty("error_description").GetString(), StringComparison.Ordinal);
        Assert.Equal(errorCode, Assert.Single(root.GetProperty("error_codes").EnumerateArray()).GetInt32());
        Assert.All(["timestamp", "trace_id", "correlation_id"], name => Assert.False(string.IsNullOrEmpty(root.GetProperty(name).GetString())));
    }

    [Fact]
    public async Task TokenEndpointAcceptsHttpBasicClientAuthentication()
    {
        await using var cloud = await StartCloudAsync();
        cloud.TokenLifetime = TimeSpan.FromMinutes(10);
        using var http = new HttpClient(cloud.CreateTrustingHandler()) { BaseAddress = cloud.AuthorityHost };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{TenantId}/oauth2/v2.0/token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["scope"] = GraphScopes[0],
            }),
        };
        var basic = Uri.EscapeDataString(ClientId) + ":" + Uri.EscapeDataString(ClientSecret);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(basic)));

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Bearer", body.RootElement.GetProperty("token_type").GetString());
        Assert.Equal(600, body.RootElement.GetProperty("expires_in").GetInt32());
        Assert.Equal(600, body.RootElement.GetProperty("ext_expires_in").GetInt32());
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("access_token").GetString()));
    }

    [Fact]
    public async Task MimeSendMailThroughTheGraphSdkArrivesDecoded()
    {
        await using var cloud = await StartCloudAsync();
        using var graph = CreateGraphClient(cloud, CreateCredential(cloud));

        await SendMimeAsync(graph, Mailbox, Base64(SampleMime));

        var mail = Assert.Single(cloud.SentMail);
        Assert.Equal(Mailbox, mail.Mailbox);
        Assert.Equal(SendMailFormat.Mime, mail.Format);
        Assert.Equal(SampleMime, mail.Mime);
        Assert.Null(mail.Json);
        Assert.True(Guid.TryParse(mail.RequestId, out _));

        Assert.Equal(1, cloud.TokenRequestCount);
        var sendMail = cloud.Requests.Single(request => request.Path == $"/v1.0/users/{Mailbox}/sendMail");
        Assert.Equal(202, sendMail.StatusCode);
        Assert.Equal($"Bearer {mail.BearerToken}", sendMail.Headers["authorization"]);
        Assert.Equal("text/plain", sendMail.Headers["Content-Type"]);
    }

    [Fact]
    public async Task JsonSendMailWithPascalCaseKeysIsAccepted()
    {
        await using var cloud = await StartCloudAsync();
        using var graph = CreateGraphClient(cloud, CreateCredential(cloud));

        await graph.Users[Mailbox].SendMail.PostAsync(new SendMailPostRequestBody
        {
            Message = new Message
            {
                Subject = "Hello",
                Body = new ItemBody { ContentType = BodyType.Text, Content = "Hello from the relay." },
                ToRecipients = [new Recipient { EmailAddress = new EmailAddress { Address = "someone@example.com" } }],
            },
            SaveToSentItems = false,
        });

        var mail = Assert.Single(cloud.SentMail);
        Assert.Equal(SendMailFormat.Json, mail.Format);
        Assert.Null(mail.Mime);
        var json = Assert.NotNull(mail.Json);
        Assert.Equal("Hello", json.GetProperty("Message").GetProperty("subject").GetString());
        Assert.False(json.GetProperty("SaveToSentItems").GetBoolean());
    }

    [Fact]
    public async Task MissingBearerTokenIs401()
    {
        await using var cloud = await StartCloudAsync();
        using var http = new HttpClient(cloud.CreateTrustingHandler());
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/sendMail")
        {
            Content = new ByteArrayContent(Base64(SampleMime)) { Headers = { ContentType = new MediaTypeHeaderValue("text/plain") } },
        };
        var clientRequestId = Guid.NewGuid().ToString();
        request.Headers.Add("client-request-id", clientRequestId);

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(clientRequestId, Assert.Single(response.Headers.GetValues("client-request-id")));
        var requestId = Assert.Single(response.Headers.GetValues("request-id"));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = body.RootElement.GetProperty("error");
        Assert.Equal("InvalidAuthenticationToken", error.GetProperty("code").GetString());
        Assert.Equal(requestId, error.GetProperty("innerError").GetProperty("request-id").GetString());
        Assert.Equal(clientRequestId, error.GetProperty("innerError").GetProperty("client-request-id").GetString());
        Assert.Empty(cloud.SentMail);
    }

    [Fact]
    public async Task RevokedTokenIs401()
    {
        await using var cloud = await StartCloudAsync();
        using var graph = CreateGraphClient(cloud, CreateCredential(cloud));
        await SendMimeAsync(graph, Mailbox, Base64(SampleMime));

        cloud.RevokeTokens();
        var failure = await Assert.ThrowsAsync<ODataError>(() => SendMimeAsync(graph, Mailbox, Base64(SampleMime)));

        Assert.Equal(401, failure.ResponseStatusCode);
        Assert.Equal("InvalidAuthenticationToken", failure.Error?.Code);
        Assert.Single(cloud.SentMail);
    }

    [Fact]
    public async Task RequestOfExactly4MiBIsAccepted()
    {
        await using var cloud = await StartCloudAsync();
        using var graph = CreateGraphClient(cloud, CreateCredential(cloud));
        var body = Base64(new byte[FourMiB / 4 * 3]);
        Assert.Equal(FourMiB, body.Length);

        await SendMimeAsync(graph, Mailbox, body);

        Assert.Single(cloud.SentMail);
    }

    [Fact]
    public async Task RequestOver4MiBIs413()
    {
        await using var cloud = await StartCloudAsync();
        using var graph = CreateGraphClient(cloud, CreateCredential(cloud));
        var body = Base64(new byte[(FourMiB / 4 * 3) + 1]);

        var failure = await Assert.ThrowsAsync<ODataError>(() => SendMimeAsync(graph, Mailbox, body));

        Assert.Equal(413, failure.ResponseStatusCode);
        Assert.Equal("The maximum request length supported is 4MB.", failure.Error?.Message);
        Assert.Empty(cloud.SentMail);
    }

    [Fact]
    public async Task InvalidBase64Is400()
    {
        await using var cloud = await StartCloudAsync();
        using var graph = CreateGraphClient(cloud, CreateCredential(cloud));

        var failure = await Assert.ThrowsAsync<ODataError>(() => SendMimeAsync(graph, Mailbox, Encoding.ASCII.GetBytes("this is not base64!")));

        Assert.Equal(400, failure.ResponseStatusCode);
        Assert.Equal("ErrorMimeContentInvalidBase64String", failure.Error?.Code);
        Assert.Equal("Invalid base64 string for MIME content.", failure.Error?.Message);
    }

    [Fact]
    public async Task Base64WrappedAtLineEndsIsDecoded()
    {
        await using var cloud = await StartCloudAsync();
        using var graph = CreateGraphClient(cloud, CreateCredential(cloud));
        var wrapped = Convert.ToBase64String(SampleMime, Base64FormattingOptions.InsertLineBreaks) + "\r\n";

        await SendMimeAsync(graph, Mailbox, Encoding.ASCII.GetBytes(wrapped));

        Assert.Equal(SampleMime, Assert.Single(cloud.SentMail).Mime);
    }

    [Theory]
    [InlineData("application/json", "{\"saveToSentItems\":false}", 400, "ErrorInvalidRequest")]
    [InlineData("application/json", "not json", 400, "BadRequest")]
    [InlineData("application/xml", "<message/>", 415, "UnsupportedMediaType")]
    public async Task MalformedSendMailBodiesGetGraphErrors(string contentType, string body, int status, string code)
    {
        await using var cloud = await StartCloudAsync();
        var token = await CreateCredential(cloud).GetTokenAsync(new TokenRequestContext(GraphScopes), CancellationToken.None);
        using var http = new HttpClient(cloud.CreateTrustingHandler());
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/sendMail")
        {
            Content = new StringContent(body, Encoding.UTF8, contentType),
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token.Token) },
        };

        using var response = await http.SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, error.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Empty(cloud.SentMail);
    }

    [Fact]
    public async Task FaultHookReturns503WithRetryAfter()
    {
        await using var cloud = await StartCloudAsync();
        var attempts = new ConcurrentQueue<int>();
        cloud.SendMailFault = request =>
        {
            attempts.Enqueue(request.Attempt);
            return request.Attempt == 1 ? GraphFault.ServiceUnavailable(TimeSpan.FromSeconds(7)) : null;
        };
        using var graph = CreateGraphClient(cloud, CreateCredential(cloud));

        var failure = await Assert.ThrowsAsync<ODataError>(() => SendMimeAsync(graph, Mailbox, Base64(SampleMime)));
        await SendMimeAsync(graph, Mailbox, Base64(SampleMime));

        Assert.Equal(503, failure.ResponseStatusCode);
        Assert.Equal("7", Assert.Single(failure.ResponseHeaders["Retry-After"]));
        Assert.Equal("ErrorServerBusy", failure.Error?.Code);
        Assert.False(string.IsNullOrEmpty(failure.Error?.InnerError?.RequestId));
        Assert.Equal([1, 2], attempts);
        Assert.Single(cloud.SentMail);
    }

    [Fact]
    public async Task UnknownEndpointIs404OverHttp2()
    {
        await using var cloud = await StartCloudAsync();
        using var http = new HttpClient(cloud.CreateTrustingHandler())
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using var response = await http.GetAsync($"{cloud.GraphBaseUrl}/users/{Mailbox}/messages");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(HttpVersion.Version20, response.Version);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("ResourceNotFound", body.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    private static async Task<FakeMicrosoftCloud> StartCloudAsync()
    {
        var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.RegisterApp(TenantId, ClientId, ClientSecret);
        return cloud;
    }

    private static ClientSecretCredential CreateCredential(FakeMicrosoftCloud cloud, string clientSecret = ClientSecret, HttpMessageHandler? handler = null) =>
        new(TenantId, ClientId, clientSecret, new ClientSecretCredentialOptions
        {
            AuthorityHost = cloud.AuthorityHost,
            // Without this MSAL first asks https://login.microsoftonline.com:{port}/common/discovery/instance, and the
            // Azure.Core pipeline retries each failed attempt: 12 requests and ~18 s here, far longer where DNS resolves.
            DisableInstanceDiscovery = true,
            Transport = new HttpClientTransport(handler ?? cloud.CreateTrustingHandler()),
        });

    /// <summary>A Graph client with the SDK's default middleware (retry, telemetry, …) in front of the fake.</summary>
    private static GraphServiceClient CreateGraphClient(FakeMicrosoftCloud cloud, TokenCredential credential)
    {
        var authentication = new AzureIdentityAuthenticationProvider(
            credential, allowedHosts: ["127.0.0.1"], observabilityOptions: null, isCaeEnabled: true, scopes: GraphScopes);
        return new GraphServiceClient(GraphClientFactory.Create(finalHandler: cloud.CreateTrustingHandler()), authentication, cloud.GraphBaseUrl);
    }

    /// <summary>MIME sendMail, which the SDK has no method for, with the SDK's retries off.</summary>
    private static Task SendMimeAsync(GraphServiceClient graph, string mailbox, byte[] base64Body)
    {
        var request = graph.Users[mailbox].SendMail.ToPostRequestInformation(new SendMailPostRequestBody());
        request.Headers.Clear();
        request.SetStreamContent(new MemoryStream(base64Body), "text/plain");
        request.AddRequestOptions([new RetryHandlerOption { MaxRetry = 0 }]);
        return graph.RequestAdapter.SendNoContentAsync(request, ODataErrorMapping);
    }

    private static byte[] Base64(byte[] bytes) => Encoding.ASCII.GetBytes(Convert.ToBase64String(bytes));

    private static FormUrlEncodedContent ClientCredentialsForm(string clientId, string clientSecret) =>
        new(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = clientId,
            ["client_secret"] = clientSecret,
            ["scope"] = GraphScopes[0],
        });

    /// <summary>Records every request an SDK sends, whatever its host.</summary>
    private sealed class ObservingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        private readonly ConcurrentQueue<string> _requests = new();

        public IReadOnlyCollection<string> Requests => _requests;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            _requests.Enqueue($"{request.Method} {request.RequestUri}");
            return base.SendAsync(request, cancellationToken);
        }
    }
}
