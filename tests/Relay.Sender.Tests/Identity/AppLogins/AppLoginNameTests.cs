using Relay.Sender.Identity.AppLogins;

namespace Relay.Sender.Tests.Identity.AppLogins;

public sealed class AppLoginNameTests
{
    private const string Tenant = "6f1c3a52-8b0e-4a7d-9c2f-1e5d7b3a9f04";
    private const string Client = "0d6e8f2a-4c1b-4e3f-8a9d-7b2c5e1f3a60";

    // The same GUIDs as 22 characters of base64url over their RFC 4122 bytes (Python: urlsafe_b64encode(uuid.bytes)).
    private const string TenantShort = "bxw6UosOSn2cLx5dezqfBA";
    private const string ClientShort = "DW6PKkwbTj-KnXssXh86YA";

    [Theory]
    [InlineData($"{Tenant}@{Client}")]
    [InlineData($"{Tenant}:{Client}")]
    [InlineData($"{Tenant}|{Client}")]
    [InlineData($"{TenantShort}@{ClientShort}")]
    [InlineData($"{TenantShort}|{Client}")]
    [InlineData($"{Tenant}@{ClientShort}.relay.contoso.com")]
    [InlineData($"{TenantShort}@{ClientShort}.x")]
    public void TenantAndClientAreReadInEveryAcceptedForm(string username)
    {
        Assert.True(AppLoginName.TryParse(username, out var name));

        Assert.Equal(Guid.Parse(Tenant), name.TenantId);
        Assert.Equal(Guid.Parse(Client), name.ClientId);
        Assert.False(name.IsLookup);
    }

    [Theory]
    [InlineData("scanner@lookup", "scanner")]
    [InlineData("Floor2|LOOKUP", "Floor2")]
    [InlineData("floor2:lookup.contoso.com", "floor2")]
    public void LookupKeysAreRecognisedWhateverTheDelimiter(string username, string key)
    {
        Assert.True(AppLoginName.TryParse(username, out var name));

        Assert.True(name.IsLookup);
        Assert.Equal(key, name.LookupKey);
    }

    [Theory]
    [InlineData("printer")]
    [InlineData("alice@contoso.com")]
    [InlineData("first.last@contoso.com")]
    [InlineData($"@{Client}")]
    [InlineData($"{Tenant}@")]
    [InlineData("@lookup")]
    [InlineData($"{Tenant}")]
    [InlineData($"{Tenant}@not-a-guid")]
    [InlineData($"{{{Tenant}}}@{Client}")]
    [InlineData("bxw6UosOSn2cLx5dezqfB@DW6PKkwbTj-KnXssXh86YA")]
    public void AnythingElseIsNotAnAppLogin(string username) =>
        Assert.False(AppLoginName.TryParse(username, out _));

    [Fact]
    public void ShortGuidsUseRfc4122ByteOrderLikeTheReferenceRelay() =>
        Assert.True(AppLoginName.TryParseGuid(TenantShort, out var guid) && guid == Guid.Parse(Tenant));
}
