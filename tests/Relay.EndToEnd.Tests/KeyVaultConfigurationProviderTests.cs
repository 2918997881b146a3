using System.Net;
using Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// The Key Vault configuration source on its own, reading the fake vault through the real Azure SDK: the challenge, the
/// list in pages joined by <c>nextLink</c>, one GET per setting, and the secrets that are not settings left out.
/// </summary>
public class KeyVaultConfigurationProviderTests
{
    [Theory]
    [InlineData("Graph--ClientSecret", "Graph:ClientSecret")]
    [InlineData("Identity--Accounts--printer--PasswordHash", "Identity:Accounts:printer:PasswordHash")]
    [InlineData("plain", "plain")]
    [InlineData("a-b", "a-b")]
    public void DoubleDashesInASecretNameBecomeTheSectionSeparator(string secretName, string key) =>
        Assert.Equal(key, KeyVaultConfigurationProvider.KeyFor(secretName));

    [Fact]
    public async Task EverySettingArrivesUnderItsConfigurationKeyAcrossListPages()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.SetSecret("Graph--ClientSecret", "graph-secret-value");
        cloud.SetSecret("Graph--TenantId", "tenant-value");
        cloud.SetSecret("Identity--Accounts--printer--PasswordHash", "hash-value", "text/plain");
        cloud.SetSecret("Smtp--Tls--CertificatePassword", "pfx-password-value");
        cloud.SetSecret("zz-last", "last-value");

        var (configuration, provider) = Load(cloud);

        Assert.Equal("graph-secret-value", configuration["Graph:ClientSecret"]);
        Assert.Equal("tenant-value", configuration["Graph:TenantId"]);
        Assert.Equal("hash-value", configuration["Identity:Accounts:printer:PasswordHash"]);
        Assert.Equal("pfx-password-value", configuration["Smtp:Tls:CertificatePassword"]);
        Assert.Equal("last-value", configuration["zz-last"]);
        // Keys keep the secret's case.
        Assert.Contains("Identity:Accounts:printer:PasswordHash", provider.Keys);
        Assert.Equal(5, provider.Keys.Count);
        // Five secrets in pages of two: the first page and two more through nextLink.
        var pages = cloud.Requests.Where(r => r.Path == "/secrets" && r.StatusCode == (int)HttpStatusCode.OK).ToList();
        Assert.Equal(3, pages.Count);
        Assert.Equal(2, pages.Count(r => r.Query.Contains("skiptoken", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task DisabledExpiredNotYetUsefulAndCertificateSecretsAreLeftOut()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var certificate = LoopbackCertificate.Create("relay.test");
        cloud.SetSecret("Graph--ClientSecret", "in-use-value");
        cloud.SetSecret("Graph--ClientId", "valid-until-tomorrow", expiresOn: DateTimeOffset.UtcNow.AddDays(1));
        cloud.SetSecret("Disabled--Setting", "disabled-value");
        cloud.SetSecretEnabled("Disabled--Setting", enabled: false);
        cloud.SetSecret("Expired--Setting", "expired-value", expiresOn: DateTimeOffset.UtcNow.AddMinutes(-1));
        cloud.SetSecret("Pem--Upload", "-----BEGIN PRIVATE KEY-----", "application/x-pem-file");
        cloud.SetSecret("Pfx--Upload", "MIIKpfx", "application/x-pkcs12; charset=binary");
        cloud.ImportCertificate("relay-smtp-tls", certificate, "application/x-pem-file");

        var (configuration, provider) = Load(cloud);

        Assert.Equal(["Graph:ClientId", "Graph:ClientSecret"], provider.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("in-use-value", configuration["Graph:ClientSecret"]);
        Assert.Equal("valid-until-tomorrow", configuration["Graph:ClientId"]);
        Assert.Null(configuration["Disabled:Setting"]);
        Assert.Null(configuration["Expired:Setting"]);
        Assert.Null(configuration["relay-smtp-tls"]);
        // Left out from the list alone: their values are never fetched (a disabled secret's GET would be refused).
        var fetched = cloud.Requests.Where(r => r.Path.StartsWith("/secrets/", StringComparison.Ordinal) && r.StatusCode == (int)HttpStatusCode.OK)
            .Select(r => r.Path).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["/secrets/Graph--ClientId", "/secrets/Graph--ClientSecret"], fetched);
    }

    [Fact]
    public async Task AVaultThatRefusesAccessStopsLoadingNamingTheKeyAndTheReason()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.SetSecret("Graph--ClientSecret", "refused-secret-value");
        cloud.KeyVaultFault = _ => KeyVaultFault.ForbiddenByRbac();

        var error = Assert.Throws<InvalidOperationException>(() => Load(cloud));

        Assert.StartsWith("ConnectionStrings:secrets:", error.Message, StringComparison.Ordinal);
        Assert.Contains(cloud.KeyVaultUri.Host, error.Message, StringComparison.Ordinal);
        Assert.Contains("(HTTP 403, Forbidden)", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("refused-secret-value", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnIdentityThatCannotSignInStopsLoadingNamingTheKey()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        var credential = KeyVaultReader.Register(cloud);
        cloud.RegisterApp(cloud.KeyVaultTenantId, KeyVaultReader.ClientId, "a-rotated-reader-secret");

        var error = Assert.Throws<InvalidOperationException>(() => Load(cloud, KeyVaultReader.Settings(cloud, credential)));

        Assert.StartsWith("ConnectionStrings:secrets:", error.Message, StringComparison.Ordinal);
        Assert.Contains("ClientSecretCredential authentication failed", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(KeyVaultReader.ClientSecret, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARefreshReplacesChangedValuesAndRaisesTheReloadTokenOnlyThen()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.SetSecret("Graph--ClientSecret", "first-value");
        cloud.SetSecret("Graph--TenantId", "tenant-value");
        var (configuration, provider) = Load(cloud);
        var reloads = 0;
        using var subscription = Microsoft.Extensions.Primitives.ChangeToken.OnChange(configuration.GetReloadToken, () => Interlocked.Increment(ref reloads));

        var unchanged = await provider.RefreshAsync(CancellationToken.None);
        cloud.SetSecret("Graph--ClientSecret", "second-value");
        cloud.SetSecret("Added--Later", "added-value");
        var changed = await provider.RefreshAsync(CancellationToken.None);

        Assert.Empty(unchanged);
        Assert.Equal(["Added:Later", "Graph:ClientSecret"], changed);
        Assert.Equal(1, Volatile.Read(ref reloads));
        Assert.Equal("second-value", configuration["Graph:ClientSecret"]);
        Assert.Equal("added-value", configuration["Added:Later"]);
        Assert.Equal("tenant-value", configuration["Graph:TenantId"]);
    }

    [Fact]
    public async Task ASecretDisabledLaterDisappearsAtTheNextRefresh()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.SetSecret("Graph--ClientSecret", "value-in-use");
        var (configuration, provider) = Load(cloud);

        cloud.SetSecretEnabled("Graph--ClientSecret", enabled: false);
        var changed = await provider.RefreshAsync(CancellationToken.None);

        Assert.Equal(["Graph:ClientSecret"], changed);
        Assert.Null(configuration["Graph:ClientSecret"]);
    }

    [Fact]
    public async Task AFailedRefreshThrowsAndKeepsTheValuesInUse()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.SetSecret("Graph--ClientSecret", "value-in-use");
        var (configuration, provider) = Load(cloud);

        cloud.SetSecret("Graph--ClientSecret", "value-behind-a-refusal");
        cloud.KeyVaultFault = _ => KeyVaultFault.ForbiddenByRbac();
        var failure = await Assert.ThrowsAsync<RequestFailedException>(() => provider.RefreshAsync(CancellationToken.None));

        Assert.Equal(403, failure.Status);
        Assert.Equal("value-in-use", configuration["Graph:ClientSecret"]);
    }

    [Fact]
    public void WithoutAVaultNothingIsAdded()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        var sources = builder.Configuration.Sources.Count;

        builder.AddRelayKeyVaultConfiguration(_ => throw new InvalidOperationException("no vault, so no client"));

        Assert.Equal(sources, builder.Configuration.Sources.Count);
    }

    private static (IConfiguration Configuration, KeyVaultConfigurationProvider Provider) Load(FakeMicrosoftCloud cloud, Action<KeyVaultClientSettings>? reader = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration["ConnectionStrings:secrets"] = cloud.KeyVaultUri.ToString();
        builder.AddRelayKeyVaultConfiguration(reader ?? KeyVaultReader.Settings(cloud));
        var root = (IConfigurationRoot)builder.Configuration;
        return (root, root.Providers.OfType<KeyVaultConfigurationProvider>().Single());
    }
}
