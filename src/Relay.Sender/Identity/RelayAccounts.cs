using System.Collections.Frozen;
using Microsoft.Extensions.Options;

namespace Relay.Sender.Identity;

/// <summary>A verified sender: which account it is, which senders it may use, and its fixed mailbox if any.</summary>
public sealed record RelayPrincipal(string Name, IReadOnlyList<string> AllowedSenders, string? Mailbox);

/// <summary>
/// The relay accounts from <see cref="IdentityOptions"/>, with their hashes parsed once. Every login is a full
/// PBKDF2 verification; an unknown name costs the same as a known one, so names cannot be probed by timing.
/// </summary>
public sealed class RelayAccounts
{
    private readonly FrozenDictionary<string, (PasswordHash Hash, RelayPrincipal Principal)> _accounts;
    private readonly PasswordHash _decoy;
    private readonly string? _anonymousAccount;

    public RelayAccounts(IOptions<IdentityOptions> options)
    {
        _accounts = options.Value.Accounts.ToFrozenDictionary(
            pair => pair.Key,
            pair =>
            {
                PasswordHash.TryParse(pair.Value.PasswordHash, out var hash, out _);
                var mailbox = string.IsNullOrWhiteSpace(pair.Value.Mailbox) ? null : pair.Value.Mailbox;
                return (hash, new RelayPrincipal(pair.Key, pair.Value.AllowedSenders.ToArray(), mailbox));
            },
            StringComparer.OrdinalIgnoreCase);
        // The decoy costs as much as the dearest real hash, so an unknown name is no faster to reject than a known one.
        var iterations = _accounts.Values.Select(a => a.Hash.Iterations).DefaultIfEmpty(PasswordHash.MinimumIterations).Max();
        _decoy = PasswordHash.Create(Guid.NewGuid().ToString(), iterations);
        _anonymousAccount = string.IsNullOrWhiteSpace(options.Value.AnonymousAccount) ? null : options.Value.AnonymousAccount;
    }

    public int Count => _accounts.Count;

    /// <summary>Checks a login. Empty passwords never succeed (no fallback identity, unlike the reference relays).</summary>
    public RelayPrincipal? Verify(string username, string password)
    {
        if (!_accounts.TryGetValue(username, out var account))
        {
            _decoy.Verify(password);
            return null;
        }
        return password.Length > 0 && account.Hash.Verify(password) ? account.Principal : null;
    }

    /// <summary>The principal behind an identity that Relay.Smtp carries from a successful AUTH (empty: anonymous).</summary>
    public RelayPrincipal? Resolve(string identity)
    {
        var name = identity.Length == 0 ? _anonymousAccount : identity;
        return name is not null && _accounts.TryGetValue(name, out var account) ? account.Principal : null;
    }
}
