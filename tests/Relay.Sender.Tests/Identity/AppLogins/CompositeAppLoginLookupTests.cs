using Relay.Sender.Identity.AppLogins;

namespace Relay.Sender.Tests.Identity.AppLogins;

public sealed class CompositeAppLoginLookupTests
{
    private static readonly AppLoginEntry FromConfiguration = new("11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222", null);
    private static readonly AppLoginEntry FromTable = new("33333333-3333-3333-3333-333333333333", "44444444-4444-4444-4444-444444444444", "t@contoso.com");

    [Fact]
    public async Task ConfigurationAnswersFirstAndTheTableIsNotAsked()
    {
        var table = new Source(new Dictionary<string, AppLoginEntry> { ["printer"] = FromTable });
        var lookup = new CompositeAppLoginLookup(new Source(new Dictionary<string, AppLoginEntry> { ["printer"] = FromConfiguration }), table);

        Assert.Equal(FromConfiguration, await lookup.FindAsync("printer", CancellationToken.None));
        Assert.Empty(table.Asked);
    }

    [Fact]
    public async Task AKeyConfigurationLacksIsLookedUpInTheTable()
    {
        var table = new Source(new Dictionary<string, AppLoginEntry> { ["scanner"] = FromTable });
        var lookup = new CompositeAppLoginLookup(new Source([]), table);

        Assert.Equal(FromTable, await lookup.FindAsync("scanner", CancellationToken.None));
        Assert.Null(await lookup.FindAsync("fax", CancellationToken.None));
        Assert.Equal(["scanner", "fax"], table.Asked);
    }

    [Fact]
    public async Task ATableThatCannotBeAskedIsATemporaryFailureNotAMiss()
    {
        var lookup = new CompositeAppLoginLookup(new Source([]), new Source([], unavailable: true));

        await Assert.ThrowsAsync<AppLoginLookupUnavailableException>(async () => await lookup.FindAsync("scanner", CancellationToken.None));
    }

    private sealed class Source(Dictionary<string, AppLoginEntry> entries, bool unavailable = false) : IAppLoginLookup
    {
        public List<string> Asked { get; } = [];

        public ValueTask<AppLoginEntry?> FindAsync(string key, CancellationToken cancellationToken)
        {
            Asked.Add(key);
            return unavailable
                ? throw new AppLoginLookupUnavailableException("down")
                : ValueTask.FromResult(entries.GetValueOrDefault(key));
        }
    }
}
