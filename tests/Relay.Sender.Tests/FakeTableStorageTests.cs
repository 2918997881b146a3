using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Identity;
using Relay.Testing;

namespace Relay.Sender.Tests;

/// <summary>Proves the fake Table service of <see cref="FakeMicrosoftCloud"/> against the real Azure.Data.Tables SDK and by hand.</summary>
public sealed class FakeTableStorageTests
{
    private const string TenantId = "7d4c1a52-0f3e-4a8b-9c61-2b5e8f0d9a17";
    private const string ClientId = "3f2b9e41-6c0d-4f7a-8e25-91d4b6c7a0e3";
    private const string ClientSecret = "fake~Secret.Value_0123456789";
    private const string Table = "RelayLogins";

    [Fact]
    public async Task TheSdkSignsWithSharedKeyLiteOverThePathStyleResourceAndTheFakeAcceptsIt()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.UpsertTableEntity(Table, "lookup", "printer", new Dictionary<string, string> { ["TenantId"] = TenantId });
        var client = new TableClient(cloud.TableConnectionString, Table, Options(cloud));

        var entity = Assert.Single(await ToListAsync(client.QueryAsync<TableEntity>("PartitionKey eq 'lookup'")));

        Assert.Equal("printer", entity.RowKey);
        Assert.Equal(TenantId, entity.GetString("TenantId"));
        Assert.NotNull(entity.Timestamp);
        Assert.False(string.IsNullOrEmpty(entity.ETag.ToString()));
        var request = Assert.Single(cloud.Requests);
        Assert.Equal(("GET", "/relaystore/RelayLogins()", 200), (request.Method, request.Path, request.StatusCode));
        Assert.StartsWith($"SharedKeyLite {cloud.TableAccountName}:", request.Headers["Authorization"], StringComparison.Ordinal);
        Assert.Equal("3.0", request.Headers["DataServiceVersion"]);
        Assert.Equal(1, cloud.TableRequestCount);
    }

    [Fact]
    public async Task ASignatureMadeWithAnotherKeyIsRefusedWith403AuthenticationFailed()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.CreateTable(Table);
        var otherKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(64));
        var connectionString = $"DefaultEndpointsProtocol=https;AccountName={cloud.TableAccountName};AccountKey={otherKey};TableEndpoint={cloud.TableEndpoint}";
        var client = new TableClient(connectionString, Table, Options(cloud));

        var failure = await Assert.ThrowsAsync<RequestFailedException>(() => ToListAsync(client.QueryAsync<TableEntity>()));

        Assert.Equal(403, failure.Status);
        Assert.Equal("AuthenticationFailed", failure.ErrorCode);
    }

    [Fact]
    public async Task TheFullSharedKeyFormatSignedByHandIsAcceptedAndAChangedPathIsNot()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.CreateTable(Table);
        using var http = new HttpClient(cloud.CreateTrustingHandler());
        var key = AccountKey(cloud);

        using var signed = SharedKeyRequest(cloud, key, $"/{cloud.TableAccountName}/{Table}()", signedPath: $"/{cloud.TableAccountName}/{Table}()");
        using var accepted = await http.SendAsync(signed);
        using var tampered = SharedKeyRequest(cloud, key, $"/{cloud.TableAccountName}/{Table}()", signedPath: $"/{cloud.TableAccountName}/Other()");
        using var refused = await http.SendAsync(tampered);

        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal("""{"value":[]}""", await accepted.Content.ReadAsStringAsync());
        var contentType = accepted.Content.Headers.ContentType!;
        Assert.Equal("application/json", contentType.MediaType);
        Assert.Equal("nometadata", contentType.Parameters.Single(p => p.Name == "odata").Value);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("AuthenticationFailed", Assert.Single(refused.Headers.GetValues("x-ms-error-code")));
    }

    [Fact]
    public async Task ABearerTokenForStorageIsAcceptedAndOneForGraphIsNot()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.RegisterApp(TenantId, ClientId, ClientSecret);
        cloud.UpsertTableEntity(Table, "lookup", "printer", new Dictionary<string, string>());
        var credential = Credential(cloud);
        var client = new TableClient(cloud.TableEndpoint, Table, credential, Options(cloud));
        var graphToken = await credential.GetTokenAsync(new TokenRequestContext(["https://graph.microsoft.com/.default"]), CancellationToken.None);
        using var http = new HttpClient(cloud.CreateTrustingHandler());
        using var withGraphToken = new HttpRequestMessage(HttpMethod.Get, $"{cloud.TableEndpoint}/{Table}()");
        withGraphToken.Headers.Authorization = new AuthenticationHeaderValue("Bearer", graphToken.Token);
        using var withoutAuthorization = new HttpRequestMessage(HttpMethod.Get, $"{cloud.TableEndpoint}/{Table}()");

        var entities = await ToListAsync(client.QueryAsync<TableEntity>());
        using var graphAnswer = await http.SendAsync(withGraphToken);
        using var anonymousAnswer = await http.SendAsync(withoutAuthorization);

        Assert.Equal("printer", Assert.Single(entities).RowKey);
        Assert.StartsWith("Bearer ", cloud.Requests.First(r => r.Path.StartsWith("/relaystore/", StringComparison.Ordinal)).Headers["Authorization"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, graphAnswer.StatusCode);
        Assert.Contains("Audience validation failed", await graphAnswer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymousAnswer.StatusCode);
        Assert.Equal("NoAuthenticationInformation", Assert.Single(anonymousAnswer.Headers.GetValues("x-ms-error-code")));
    }

    [Fact]
    public async Task AFilterBeyondEqualityConjunctionsIsRefusedWithTheServicesErrorShape()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.CreateTable(Table);
        var client = new TableClient(cloud.TableConnectionString, Table, Options(cloud));

        var failure = await Assert.ThrowsAsync<RequestFailedException>(
            () => ToListAsync(client.QueryAsync<TableEntity>("PartitionKey eq 'lookup' or RowKey ne ''")));

        Assert.Equal(400, failure.Status);
        Assert.Equal("InvalidInput", failure.ErrorCode);
        var body = JsonDocument.Parse(failure.GetRawResponse()!.Content.ToString()).RootElement;
        var error = body.GetProperty("odata.error");
        Assert.Equal("InvalidInput", error.GetProperty("code").GetString());
        Assert.Equal("en-US", error.GetProperty("message").GetProperty("lang").GetString());
        Assert.Contains("only conjunctions", error.GetProperty("message").GetProperty("value").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingTableIs404TableNotFound()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        var client = new TableClient(cloud.TableConnectionString, "NoSuchTable", Options(cloud));

        var failure = await Assert.ThrowsAsync<RequestFailedException>(() => ToListAsync(client.QueryAsync<TableEntity>()));

        Assert.Equal(404, failure.Status);
        Assert.Equal("TableNotFound", failure.ErrorCode);
    }

    [Fact]
    public async Task PagesOfTopEntitiesAreJoinedByContinuationHeaders()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        foreach (var row in new[] { "e", "a", "d", "b", "c" })
        {
            cloud.UpsertTableEntity(Table, "lookup", row, new Dictionary<string, string>());
        }
        cloud.UpsertTableEntity(Table, "other", "a", new Dictionary<string, string>());
        var client = new TableClient(cloud.TableConnectionString, Table, Options(cloud));

        var entities = await ToListAsync(client.QueryAsync<TableEntity>("PartitionKey eq 'lookup'", maxPerPage: 2));

        Assert.Equal(["a", "b", "c", "d", "e"], entities.Select(e => e.RowKey));
        Assert.Equal(3, cloud.TableRequestCount);
        Assert.Contains("NextPartitionKey=lookup", cloud.Requests[1].Query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnInjectedFaultIsReturnedToTheSdkWithItsCode()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.CreateTable(Table);
        cloud.TableFault = table => table == Table ? TableFault.AuthorizationPermissionMismatch() : null;
        var client = new TableClient(cloud.TableConnectionString, Table, Options(cloud));

        var failure = await Assert.ThrowsAsync<RequestFailedException>(() => ToListAsync(client.QueryAsync<TableEntity>()));

        Assert.Equal(403, failure.Status);
        Assert.Equal("AuthorizationPermissionMismatch", failure.ErrorCode);
    }

    private static TableClientOptions Options(FakeMicrosoftCloud cloud) =>
        new() { Transport = new HttpClientTransport(cloud.CreateTrustingHandler()), Retry = { MaxRetries = 0 } };

    private static ClientSecretCredential Credential(FakeMicrosoftCloud cloud) =>
        new(TenantId, ClientId, ClientSecret, new ClientSecretCredentialOptions
        {
            AuthorityHost = cloud.AuthorityHost,
            DisableInstanceDiscovery = true,
            Transport = new HttpClientTransport(cloud.CreateTrustingHandler()),
        });

    private static byte[] AccountKey(FakeMicrosoftCloud cloud)
    {
        const string Marker = "AccountKey=";
        var part = cloud.TableConnectionString.Split(';').Single(p => p.StartsWith(Marker, StringComparison.Ordinal));
        return Convert.FromBase64String(part[Marker.Length..]);
    }

    /// <summary>
    /// A GET signed with the Table service's Shared Key format, written from its documentation:
    /// <c>VERB\nContent-MD5\nContent-Type\nDate\n/ACCOUNT/PATH</c>, asking for <c>odata=nometadata</c>.
    /// </summary>
    private static HttpRequestMessage SharedKeyRequest(FakeMicrosoftCloud cloud, byte[] key, string path, string signedPath)
    {
        var date = DateTimeOffset.UtcNow.ToString("r", CultureInfo.InvariantCulture);
        var stringToSign = $"GET\n\n\n{date}\n/{cloud.TableAccountName}{signedPath}";
        var signature = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(cloud.AuthorityHost, path));
        request.Headers.Add("x-ms-date", date);
        request.Headers.Add("x-ms-version", "2020-12-06");
        request.Headers.Accept.ParseAdd("application/json;odata=nometadata");
        request.Headers.Authorization = new AuthenticationHeaderValue("SharedKey", $"{cloud.TableAccountName}:{signature}");
        return request;
    }

    private static async Task<List<T>> ToListAsync<T>(AsyncPageable<T> pageable) where T : notnull
    {
        var list = new List<T>();
        await foreach (var item in pageable)
        {
            list.Add(item);
        }
        return list;
    }
}
