using Microsoft.Extensions.Options;
using Relay.Sender.Identity;
using Relay.Sender.Identity.AppLogins;

namespace Relay.Sender.Tests.Identity.AppLogins;

public sealed class ConfiguredAppLoginsTests
{
    private const string TenantId = "7d4c1a52-0f3e-4a8b-9c61-2b5e8f0d9a17";
    private const string ClientId = "3f2b9e41-6c0d-4f7a-8e25-91d4b6c7a0e3";

    [Fact]
    public async Task AConfiguredKeyIsFoundWhateverItsCase()
    {
        var lookup = Lookup(("Printer", new AppLoginEntryOptions { TenantId = TenantId, ClientId = ClientId, From = "printer@contoso.com" }));

        var entry = await lookup.FindAsync("PRINTER", CancellationToken.None);

        Assert.Equal(new AppLoginEntry(TenantId, ClientId, "printer@contoso.com"), entry);
    }

    [Fact]
    public async Task AnUnknownKeyIsNotFound()
    {
        var lookup = Lookup(("printer", new AppLoginEntryOptions { TenantId = TenantId, ClientId = ClientId }));

        Assert.Null(await lookup.FindAsync("scanner", CancellationToken.None));
    }

    [Fact]
    public async Task GuidsInUpperCaseOrBase64UrlAreStoredInTheirCanonicalForm()
    {
        var base64UrlClient = Convert.ToBase64String(Guid.Parse(ClientId).ToByteArray(bigEndian: true)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var lookup = Lookup(("printer", new AppLoginEntryOptions { TenantId = TenantId.ToUpperInvariant(), ClientId = base64UrlClient, From = " " }));

        var entry = await lookup.FindAsync("printer", CancellationToken.None);

        Assert.Equal(new AppLoginEntry(TenantId, ClientId, null), entry);
    }

    [Theory]
    [InlineData("not-a-guid", ClientId, null)]
    [InlineData(TenantId, "", null)]
    [InlineData(TenantId, ClientId, "not an address")]
    public async Task AnEntryThatValidationWouldRefuseIsLeftOut(string tenantId, string clientId, string? from)
    {
        var lookup = Lookup(("printer", new AppLoginEntryOptions { TenantId = tenantId, ClientId = clientId, From = from }));

        Assert.Null(await lookup.FindAsync("printer", CancellationToken.None));
        Assert.Equal(0, lookup.Count);
    }

    private static ConfiguredAppLogins Lookup(params (string Key, AppLoginEntryOptions Entry)[] entries)
    {
        var identity = new IdentityOptions();
        foreach (var (key, entry) in entries)
        {
            identity.AppLogins.Lookup[key] = entry;
        }
        return new ConfiguredAppLogins(Options.Create(identity));
    }
}
