namespace Relay.Sender.Identity.AppLogins;

/// <summary>
/// Asks each source in turn and answers with the first entry found: configuration first, then the Azure Table when one
/// is configured. A source that cannot be asked stops the search (<see cref="AppLoginLookupUnavailableException"/>) rather
/// than being skipped, so an outage is a temporary failure and never a refusal.
/// </summary>
/// <param name="sources">The sources, in the order they are asked.</param>
public sealed class CompositeAppLoginLookup(params IReadOnlyList<IAppLoginLookup> sources) : IAppLoginLookup
{
    /// <summary>The sources, in the order they are asked.</summary>
    public IReadOnlyList<IAppLoginLookup> Sources { get; } = sources;

    /// <inheritdoc />
    public async ValueTask<AppLoginEntry?> FindAsync(string key, CancellationToken cancellationToken)
    {
        foreach (var source in Sources)
        {
            if (await source.FindAsync(key, cancellationToken) is { } entry)
            {
                return entry;
            }
        }
        return null;
    }
}
