using System.Collections.Frozen;
using Microsoft.Extensions.Options;

namespace Relay.Sender.Identity;

/// <summary>
/// The relay accounts from <see cref="IdentityOptions"/>, with their hashes parsed once. Every login is a full
/// PBKDF2 verification; an unknown name costs the same as a known one, so names cannot be probed by timing.
/// </summary>
public sealed class RelayAccounts
{
    private readonly FrozenDictionary<string, (PasswordHash Hash, RelayPrincipal Principal)> _accounts;
    private readonly PasswordHash _decoy;
    private readonly RelayPrincipal? _anonymous;

    public RelayAccounts(IOptions<IdentityOptions> options)
    {
        _accounts = options.Value.Accounts.ToFrozenDictionary(
            pair => pair.Key,
            pair =>
            {
                PasswordHash.TryParse(pair.Value.PasswordHash, out var hash, out _);
                var mailbox = string.IsNullOrWhiteSpace(pair.Value.Mailbox) ? null : pair.Value.Mailbox;
                return (hash, new RelayPrincipal(pair.Key, LoginKind.RelayAccount, pair.Value.AllowedSenders.ToArray(), mailbox));
            },
            StringComparer.OrdinalIgnoreCase);
        // The decoy costs as much as the dearest real hash, so an unknown name is no faster to reject than a known one.
        var iterations = _accounts.Values.Select(a => a.Hash.Iterations).DefaultIfEmpty(PasswordHash.MinimumIterations).Max();
        _decoy = PasswordHash.Create(Guid.NewGuid().ToString(), iterations);
        var anonymousAccount = options.Value.AnonymousAccount;
        _anonymous = !string.IsNullOrWhiteSpace(anonymousAccount) && _accounts.TryGetValue(anonymousAccount, out var anonymous)
            ? anonymous.Principal with { Kind = LoginKind.Anonymous }
            : null;
    }

    public int Count => _accounts.Count;

    public bool Contains(string username) => _accounts.ContainsKey(username);

    /// <summary>Checks a login. Empty passwords never succeed (no fallback identity, unlike the reference relays).</summary>
    public RelayPrincipal? Verify(string username, string password)
    {
        if (!_accounts.TryGetValue(username, out var account))
        {
            SpendDecoy(password);
            return null;
        }
        return password.Length > 0 && account.Hash.Verify(password) ? account.Principal : null;
    }

    /// <summary>Costs as much as checking a real account's password, for a name that is not one.</summary>
    public void SpendDecoy(string password) => _decoy.Verify(password);

    /// <summary>
    /// The principal behind an identity that Relay.Smtp carries from a successful Relay-account AUTH, or the anonymous
    /// account for the empty identity.
    /// </summary>
    public RelayPrincipal? Resolve(string identity)
    {
        if (identity.Length == 0)
        {
            return _anonymous;
        }
        return _accounts.TryGetValue(identity, out var account) ? account.Principal : null;
    }
}
