using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Relay.Sender.Identity;
using Relay.Sender.Identity.AppLogins;
using Relay.Testing;

namespace Relay.Sender.Tests.Identity.AppLogins;

/// <summary><see cref="TableAppLogins"/>, registered by <c>AddAppLoginLookup</c>, against the fake cloud's Table service.</summary>
public sealed class TableAppLoginsTests
{
    private const string TenantId = "7d4c1a52-0f3e-4a8b-9c61-2b5e8f0d9a17";
    private const string ClientId = "3f2b9e41-6c0d-4f7a-8e25-91d4b6c7a0e3";
    private const string RelayTenantId = "5a0e7c11-2b3d-4e5f-8a9b-0c1d2e3f4a5b";
    private const string RelayClientId = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a";
    private const string RelaySecret = "relay~Secret.Value_9876543210";
    private const string Table = "RelayLogins";
    private const string Partition = "lookup";

    private static readonly AppLoginEntry Printer = new(TenantId, ClientId, "printer@contoso.com");

    [Fact]
    public async Task AnEntryIsFoundWithTheConnectionStringsSharedKey()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        AddPrinter(cloud);
        using var relay = Relay(cloud, table => table.ConnectionString = cloud.TableConnectionString);

        var entry = await relay.Lookup.FindAsync("printer", CancellationToken.None);

        Assert.Equal(Printer, entry);
        var request = Assert.Single(cloud.Requests);
        Assert.Equal(("GET", $"/{cloud.TableAccountName}/{Table}()", 200), (request.Method, request.Path, request.StatusCode));
        Assert.StartsWith($"SharedKeyLite {cloud.TableAccountName}:", request.Headers["Authorization"], StringComparison.Ordinal);
        Assert.Equal("PartitionKey eq 'lookup' and RowKey eq 'printer'", Filter(request));
    }

    [Fact]
    public async Task AnEntryIsFoundAtTheEndpointWithRelaysTokenForStorage()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        AddPrinter(cloud);
        // The trailing slash is how an endpoint is usually written; the SDK would turn it into /relaystore//RelayLogins().
        using var relay = Relay(cloud, table => table.Endpoint = cloud.TableEndpoint + "/");

        var entry = await relay.Lookup.FindAsync("printer", CancellationToken.None);

        Assert.Equal(Printer, entry);
        Assert.Equal(1, cloud.TokenRequestCount);
        var request = Assert.Single(cloud.Requests, r => r.Path.StartsWith($"/{cloud.TableAccountName}/", StringComparison.Ordinal));
        Assert.Equal(($"/{cloud.TableAccountName}/{Table}()", 200), (request.Path, request.StatusCode));
        Assert.StartsWith("Bearer ", request.Headers["Authorization"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task GuidsAreReturnedInTheirCanonicalFormAndAnEmptyFromMeansNone()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        var base64UrlClient = Convert.ToBase64String(Guid.Parse(ClientId).ToByteArray(bigEndian: true)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        cloud.UpsertTableEntity(Table, Partition, "scanner", new Dictionary<string, string>
        {
            ["TenantId"] = TenantId.ToUpperInvariant(), ["ClientId"] = base64UrlClient, ["From"] = "",
        });
        using var relay = Relay(cloud, table => table.ConnectionString = cloud.TableConnectionString);

        Assert.Equal(new AppLoginEntry(TenantId, ClientId, null), await relay.Lookup.FindAsync("scanner", CancellationToken.None));
    }

    [Fact]
    public async Task AKeyThatIsNotInTheTableIsNotFound()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        AddPrinter(cloud);
        cloud.UpsertTableEntity(Table, "another-partition", "scanner", Properties());
        using var relay = Relay(cloud, table => table.ConnectionString = cloud.TableConnectionString);

        Assert.Null(await relay.Lookup.FindAsync("scanner", CancellationToken.None));
        Assert.Null(await relay.Lookup.FindAsync("Printer", CancellationToken.None));
        Assert.Equal(2, cloud.TableRequestCount);
    }

    [Fact]
    public async Task ConfigurationIsAskedBeforeTheTable()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        AddPrinter(cloud);
        using var relay = Relay(cloud, table => table.ConnectionString = cloud.TableConnectionString, identity =>
            identity.AppLogins.Lookup["printer"] = new AppLoginEntryOptions { TenantId = RelayTenantId, ClientId = RelayClientId });

        var entry = await relay.Lookup.FindAsync("printer", CancellationToken.None);

        Assert.Equal(new AppLoginEntry(RelayTenantId, RelayClientId, null), entry);
        Assert.Equal(0, cloud.TableRequestCount);
    }

    [Fact]
    public async Task FoundAndMissingKeysAreRememberedForTheCacheDurationThenAskedAgain()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        AddPrinter(cloud);
        var time = new FakeTimeProvider();
        using var relay = Relay(cloud, table =>
        {
            table.ConnectionString = cloud.TableConnectionString;
            table.CacheDuration = TimeSpan.FromMinutes(5);
        }, time: time);
        await relay.Lookup.FindAsync("printer", CancellationToken.None);
        await relay.Lookup.FindAsync("scanner", CancellationToken.None);

        time.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(Printer, await relay.Lookup.FindAsync("printer", CancellationToken.None));
        Assert.Null(await relay.Lookup.FindAsync("scanner", CancellationToken.None));
        Assert.Equal(2, cloud.TableRequestCount);

        cloud.UpsertTableEntity(Table, Partition, "scanner", Properties());
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(Printer, await relay.Lookup.FindAsync("printer", CancellationToken.None));
        Assert.Equal(new AppLoginEntry(TenantId, ClientId, null), await relay.Lookup.FindAsync("scanner", CancellationToken.None));
        Assert.Equal(4, cloud.TableRequestCount);
    }

    [Fact]
    public async Task ConcurrentLookupsOfOneKeyShareOneRequest()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        AddPrinter(cloud);
        using var arrived = new SemaphoreSlim(0);
        using var release = new ManualResetEventSlim();
        cloud.TableFault = _ =>
        {
            arrived.Release();
            release.Wait(TimeSpan.FromSeconds(30));
            return null;
        };
        using var relay = Relay(cloud, table => table.ConnectionString = cloud.TableConnectionString);

        var lookups = Enumerable.Range(0, 5).Select(_ => relay.Lookup.FindAsync("printer", CancellationToken.None).AsTask()).ToList();
        await arrived.WaitAsync(TimeSpan.FromSeconds(30));
        release.Set();
        var entries = await Task.WhenAll(lookups);

        Assert.All(entries, entry => Assert.Equal(Printer, entry));
        Assert.Equal(1, cloud.TableRequestCount);
    }

    [Fact]
    public async Task ACallerThatGivesUpDoesNotFailOthersWaitingForTheSameKey()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        AddPrinter(cloud);
        using var arrived = new SemaphoreSlim(0);
        using var release = new ManualResetEventSlim();
        cloud.TableFault = _ =>
        {
            arrived.Release();
            release.Wait(TimeSpan.FromSeconds(30));
            return null;
        };
        using var relay = Relay(cloud, table => table.ConnectionString = cloud.TableConnectionString);
        using var impatient = new CancellationTokenSource();

        var first = relay.Lookup.FindAsync("printer", impatient.Token).AsTask();
        var second = relay.Lookup.FindAsync("printer", CancellationToken.None).AsTask();
        await arrived.WaitAsync(TimeSpan.FromSeconds(30));
        await impatient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        release.Set();

        Assert.Equal(Printer, await second);
        Assert.Equal(1, cloud.TableRequestCount);
    }

    [Theory]
    [InlineData("TenantId", "not-a-guid", "TenantId")]
    [InlineData("ClientId", "", "ClientId")]
    [InlineData("From", "Printer <printer@contoso.com>", "From")]
    public async Task AnEntityWithABadPropertyCountsAsMissingAndTheWarningNamesKeyAndPropertyButNotTheValue(string property, string value, string named)
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        var properties = Properties("printer@contoso.com");
        properties[property] = value;
        cloud.UpsertTableEntity(Table, Partition, "printer", properties);
        using var relay = Relay(cloud, table => table.ConnectionString = cloud.TableConnectionString);

        Assert.Null(await relay.Lookup.FindAsync("printer", CancellationToken.None));

        var (level, message) = Assert.Single(relay.Logger.Entries);
        Assert.Equal(LogLevel.Warning, level);
        Assert.Contains("printer", message, StringComparison.Ordinal);
        Assert.Contains($"its {named} ", message, StringComparison.Ordinal);
        if (value.Length > 0)
        {
            Assert.DoesNotContain(value, message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AnEntityWithoutItsGuidsCountsAsMissing()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.UpsertTableEntity(Table, Partition, "printer", new Dictionary<string, string> { ["From"] = "printer@contoso.com" });
        using var relay = Relay(cloud, table => table.ConnectionString = cloud.TableConnectionString);

        Assert.Null(await relay.Lookup.FindAsync("printer", CancellationToken.None));
        Assert.Contains("its TenantId ", Assert.Single(relay.Logger.Entries).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AKeyThatTriesToExtendTheFilterIsSentAsOneQuotedLiteralAndFindsNothing()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        AddPrinter(cloud);
        cloud.UpsertTableEntity(Table, Partition, "scanner", Properties());
        using var relay = Relay(cloud, table => table.ConnectionString = cloud.TableConnectionString);

        var entry = await relay.Lookup.FindAsync("x' or RowKey ne '", CancellationToken.None);

        Assert.Null(entry);
        var request = Assert.Single(cloud.Requests);
        Assert.Equal(200, request.StatusCode);
        Assert.Equal("PartitionKey eq 'lookup' and RowKey eq 'x'' or RowKey ne '''", Filter(request));
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("a#b")]
    [InlineData("a?b")]
    [InlineData("a\\b")]
    [InlineData("a\tb")]
    public async Task AKeyThatCannotBeARowKeyIsNotFoundWithoutAsking(string key)
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var relay = Relay(cloud, table => table.ConnectionString = cloud.TableConnectionString);

        Assert.Null(await relay.Lookup.FindAsync(key, CancellationToken.None));
        Assert.Equal(0, cloud.TableRequestCount);
    }

    [Fact]
    public async Task AServerBusyTableIsATemporaryFailureAfterTwoRetriesAndIsNotRemembered()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        AddPrinter(cloud);
        cloud.TableFault = _ => TableFault.ServerBusy();
        using var relay = Relay(cloud, table => table.ConnectionString = cloud.TableConnectionString);

        var failure = await Assert.ThrowsAsync<AppLoginLookupUnavailableException>(async () => await relay.Lookup.FindAsync("printer", CancellationToken.None));

        Assert.Contains("503 ServerBusy", failure.Message, StringComparison.Ordinal);
        Assert.Equal(3, cloud.TableRequestCount);
        var (level, message) = Assert.Single(relay.Logger.Entries);
        Assert.Equal(LogLevel.Warning, level);
        Assert.Contains("503 ServerBusy", message, StringComparison.Ordinal);

        cloud.TableFault = null;
        Assert.Equal(Printer, await relay.Lookup.FindAsync("printer", CancellationToken.None));
    }

    [Fact]
    public async Task AnIdentityWithoutADataRoleIsATemporaryFailureWithTheCode()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        AddPrinter(cloud);
        cloud.TableFault = _ => TableFault.AuthorizationPermissionMismatch();
        using var relay = Relay(cloud, table => table.Endpoint = cloud.TableEndpoint.ToString());

        var failure = await Assert.ThrowsAsync<AppLoginLookupUnavailableException>(async () => await relay.Lookup.FindAsync("printer", CancellationToken.None));

        Assert.Contains("403 AuthorizationPermissionMismatch", failure.Message, StringComparison.Ordinal);
        Assert.Contains("403 AuthorizationPermissionMismatch", Assert.Single(relay.Logger.Entries).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATableThatDoesNotAnswerInTimeIsATemporaryFailure()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        AddPrinter(cloud);
        using var arrived = new SemaphoreSlim(0);
        using var release = new ManualResetEventSlim();
        cloud.TableFault = _ =>
        {
            arrived.Release();
            release.Wait(TimeSpan.FromSeconds(30));
            return null;
        };
        var time = new FakeTimeProvider();
        using var relay = Relay(cloud, table => table.ConnectionString = cloud.TableConnectionString, time: time);

        var lookup = relay.Lookup.FindAsync("printer", CancellationToken.None).AsTask();
        await arrived.WaitAsync(TimeSpan.FromSeconds(30));
        time.Advance(TableAppLogins.LookupTimeout);
        var failure = await Assert.ThrowsAsync<AppLoginLookupUnavailableException>(() => lookup);
        release.Set();

        Assert.Contains("did not answer within 15 s", failure.Message, StringComparison.Ordinal);
        Assert.Contains("did not answer within", Assert.Single(relay.Logger.Entries).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnreachableTableIsATemporaryFailure()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var connectionString = cloud.TableConnectionString.Replace($":{cloud.TableEndpoint.Port}/", $":{port}/", StringComparison.Ordinal);
        using var relay = Relay(cloud, table => table.ConnectionString = connectionString);

        var failure = await Assert.ThrowsAsync<AppLoginLookupUnavailableException>(async () => await relay.Lookup.FindAsync("printer", CancellationToken.None));

        Assert.Contains("could not be reached", failure.Message, StringComparison.Ordinal);
        Assert.Contains("could not be reached", Assert.Single(relay.Logger.Entries).Message, StringComparison.Ordinal);
        Assert.Equal(0, cloud.TableRequestCount);
    }

    [Fact]
    public async Task AMissingTableIsATemporaryFailureAndTheWarningNamesTheSetting()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        AddPrinter(cloud);
        using var relay = Relay(cloud, table =>
        {
            table.ConnectionString = cloud.TableConnectionString;
            table.TableName = "RelayLogon";
        });

        var failure = await Assert.ThrowsAsync<AppLoginLookupUnavailableException>(async () => await relay.Lookup.FindAsync("printer", CancellationToken.None));

        Assert.Contains("RelayLogon", failure.Message, StringComparison.Ordinal);
        var (level, message) = Assert.Single(relay.Logger.Entries);
        Assert.Equal(LogLevel.Warning, level);
        Assert.Contains("Identity:AppLogins:Table:TableName", message, StringComparison.Ordinal);
        Assert.Contains("RelayLogon", message, StringComparison.Ordinal);
        Assert.Equal(1, cloud.TableRequestCount);
    }

    [Fact]
    public async Task AWrongAccountKeyIsATemporaryFailureAndNeitherKeyIsLogged()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        AddPrinter(cloud);
        var wrongKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(64));
        var connectionString = $"DefaultEndpointsProtocol=https;AccountName={cloud.TableAccountName};AccountKey={wrongKey};TableEndpoint={cloud.TableEndpoint}";
        using var relay = Relay(cloud, table => table.ConnectionString = connectionString);

        var failure = await Assert.ThrowsAsync<AppLoginLookupUnavailableException>(async () => await relay.Lookup.FindAsync("printer", CancellationToken.None));

        Assert.Contains("403 AuthenticationFailed", failure.Message, StringComparison.Ordinal);
        var message = Assert.Single(relay.Logger.Entries).Message;
        Assert.Contains("403 AuthenticationFailed", message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongKey, message, StringComparison.Ordinal);
        Assert.DoesNotContain(cloud.TableConnectionString.Split("AccountKey=")[1].Split(';')[0], message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongKey, failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACredentialThatGetsNoTokenIsATemporaryFailure()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        AddPrinter(cloud);
        using var relay = Relay(cloud, table => table.Endpoint = cloud.TableEndpoint.ToString(), secret: "not-the-secret");

        var failure = await Assert.ThrowsAsync<AppLoginLookupUnavailableException>(async () => await relay.Lookup.FindAsync("printer", CancellationToken.None));

        Assert.IsType<AuthenticationFailedException>(failure.InnerException);
        Assert.Contains("ClientSecretCredential", Assert.Single(relay.Logger.Entries).Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-secret", relay.Logger.Entries[0].Message, StringComparison.Ordinal);
        Assert.Equal(0, cloud.TableRequestCount);
    }

    [Fact]
    public async Task AMalformedConnectionStringIsRefusedWithoutRepeatingIt()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        const string Secretish = "AccountKey=c2VjcmV0;NoAccountName=here";
        using var relay = Relay(cloud, table => table.ConnectionString = Secretish);

        var failure = Assert.Throws<InvalidOperationException>(() => relay.Services.GetRequiredService<IAppLoginLookup>());

        Assert.Contains("Identity:AppLogins:Table:ConnectionString", failure.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0", failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutATableOnlyConfigurationIsAsked()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var relay = Relay(cloud, _ => { });

        var lookup = Assert.IsType<CompositeAppLoginLookup>(relay.Lookup);

        Assert.IsType<ConfiguredAppLogins>(Assert.Single(lookup.Sources));
        Assert.Null(await lookup.FindAsync("printer", CancellationToken.None));
    }

    private static void AddPrinter(FakeMicrosoftCloud cloud) =>
        cloud.UpsertTableEntity(Table, Partition, "printer", Properties("printer@contoso.com"));

    private static Dictionary<string, string> Properties(string? from = null)
    {
        var properties = new Dictionary<string, string> { ["TenantId"] = TenantId, ["ClientId"] = ClientId };
        if (from is not null)
        {
            properties["From"] = from;
        }
        return properties;
    }

    /// <summary>The decoded <c>$filter</c> of a recorded request.</summary>
    private static string Filter(RecordedRequest request) =>
        request.Query.TrimStart('?').Split('&')
            .Select(pair => pair.Split('=', 2))
            .Where(pair => pair[0] == "$filter")
            .Select(pair => Uri.UnescapeDataString(pair[1]))
            .Single();

    /// <summary>
    /// The services as Relay registers them, with the fake's certificate trusted on the <c>tables</c> HttpClient and a
    /// client-secret credential on the fake Entra as Relay's identity.
    /// </summary>
    private static RelayServices Relay(
        FakeMicrosoftCloud cloud, Action<AppLoginTableOptions> table, Action<IdentityOptions>? identity = null, TimeProvider? time = null, string secret = RelaySecret)
    {
        cloud.RegisterApp(RelayTenantId, RelayClientId, RelaySecret);
        var options = new IdentityOptions();
        options.AppLogins.Enabled = true;
        table(options.AppLogins.Table);
        identity?.Invoke(options);

        var logger = new ListLogger<TableAppLogins>();
        var services = new ServiceCollection();
        services.AddSingleton(Options.Create(options));
        services.AddSingleton<ILogger<TableAppLogins>>(logger);
        services.AddSingleton<TokenCredential>(new ClientSecretCredential(RelayTenantId, RelayClientId, secret, new ClientSecretCredentialOptions
        {
            AuthorityHost = cloud.AuthorityHost,
            DisableInstanceDiscovery = true,
            Transport = new HttpClientTransport(cloud.CreateTrustingHandler()),
        }));
        if (time is not null)
        {
            services.AddSingleton(time);
        }
        services.AddAppLoginLookup();
        services.AddHttpClient(TableAppLogins.HttpClientName).ConfigurePrimaryHttpMessageHandler(cloud.CreateTrustingHandler);
        return new RelayServices(services.BuildServiceProvider(), logger);
    }

    private sealed class RelayServices(ServiceProvider services, ListLogger<TableAppLogins> logger) : IDisposable
    {
        public IServiceProvider Services => services;

        public IAppLoginLookup Lookup => services.GetRequiredService<IAppLoginLookup>();

        public ListLogger<TableAppLogins> Logger => logger;

        public void Dispose() => services.Dispose();
    }
}
