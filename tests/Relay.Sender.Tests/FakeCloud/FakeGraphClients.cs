using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Azure.Identity;
using Relay.Testing;
using static Relay.Sender.Tests.FakeCloud.FakeCloudClients;

namespace Relay.Sender.Tests.FakeCloud;

/// <summary>An app registered in a started <see cref="FakeMicrosoftCloud"/>, and raw HTTP helpers for exact Graph shapes.</summary>
internal static class FakeGraphClients
{
    public const string TenantId = "2c4e6a8b-1d3f-4a5c-9e7b-0d2f4a6c8e13";
    public const string ClientId = "9a7c5e3b-1f2d-4b6a-8c0e-2d4f6a8b0c27";
    public const string ClientSecret = "fake~Graph.Secret_0123456789";

    public static async Task<FakeMicrosoftCloud> StartAsync()
    {
        var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.RegisterApp(TenantId, ClientId, ClientSecret);
        return cloud;
    }

    public static ClientSecretCredential AppCredential(FakeMicrosoftCloud cloud, string clientId = ClientId, string clientSecret = ClientSecret) =>
        new(TenantId, clientId, clientSecret, Configure(cloud, new ClientSecretCredentialOptions()));

    public static async Task<string> AppTokenAsync(FakeMicrosoftCloud cloud, string clientId = ClientId, string clientSecret = ClientSecret) =>
        (await AppCredential(cloud, clientId, clientSecret).GetTokenAsync(new TokenRequestContext(GraphScopes), CancellationToken.None)).Token;

    /// <summary>A plain client that trusts the fake, sends no token unless asked, and does not retry.</summary>
    public static HttpClient Http(FakeMicrosoftCloud cloud) => new(cloud.CreateTrustingHandler());

    public static HttpRequestMessage Request(HttpMethod method, string url, string? token, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, url) { Content = content };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return request;
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static ByteArrayContent MimeBase64(byte[] mime) =>
        new(Encoding.ASCII.GetBytes(Convert.ToBase64String(mime))) { Headers = { ContentType = new MediaTypeHeaderValue("text/plain") } };

    /// <summary>MIME sendMail as <c>/users/{mailbox}</c> over raw HTTP.</summary>
    public static async Task<HttpResponseMessage> SendMimeAsync(HttpClient http, FakeMicrosoftCloud cloud, string token, string mailbox, CancellationToken cancellationToken = default)
    {
        using var request = Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Uri.EscapeDataString(mailbox)}/sendMail", token, MimeBase64(SampleMime));
        return await http.SendAsync(request, cancellationToken);
    }

    /// <summary>The <c>error</c> object of a Graph error response.</summary>
    public static async Task<JsonElement> ErrorAsync(HttpResponseMessage response)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("error").Clone();
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.Clone();
    }
}
