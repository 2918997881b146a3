using System.Collections.Frozen;
using Microsoft.Extensions.Options;

namespace Relay.Sender.Identity.AppLogins;

/// <summary>
/// Lookup entries from configuration, <c>Identity:AppLogins:Lookup:KEY</c>, keys compared case-insensitively. Read once,
/// when the service is created; GUIDs are stored in their canonical <c>D</c> form whichever form configuration used.
/// </summary>
public sealed class ConfiguredAppLogins : IAppLoginLookup
{
    private readonly FrozenDictionary<string, AppLoginEntry> _entries;

    /// <summary>Reads <c>Identity:AppLogins:Lookup</c>.</summary>
    /// <param name="options">The identity options; entries options validation refuses never get this far, and any that do are left out.</param>
    public ConfiguredAppLogins(IOptions<IdentityOptions> options)
    {
        var entries = new Dictionary<string, AppLoginEntry>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, entry) in options.Value.AppLogins.Lookup)
        {
            if (AppLoginName.TryParseGuid(entry.TenantId, out var tenantId)
                && AppLoginName.TryParseGuid(entry.ClientId, out var clientId)
                && (string.IsNullOrWhiteSpace(entry.From) || SenderPattern.IsAddress(entry.From)))
            {
                entries[key] = new AppLoginEntry(tenantId.ToString("D"), clientId.ToString("D"), string.IsNullOrWhiteSpace(entry.From) ? null : entry.From);
            }
        }
        _entries = entries.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>How many entries configuration holds.</summary>
    public int Count => _entries.Count;

    /// <inheritdoc />
    public ValueTask<AppLoginEntry?> FindAsync(string key, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_entries.GetValueOrDefault(key));
}
