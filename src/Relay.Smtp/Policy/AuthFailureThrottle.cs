using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Relay.Smtp.Policy;

/// <summary>
/// Counts failed logins per client address and locks an address out once it reaches <c>Smtp:AuthFailureLimit</c>,
/// for <c>Smtp:AuthLockoutDuration</c>. IPv6 clients are counted per /64, the block one subscriber usually holds, so
/// rotating addresses inside it does not reset the count. Failures are forgotten a lockout period after the last one.
/// A locked-out address gets 421 at AUTH without its credentials being checked, so a guesser learns nothing and costs
/// Relay.Sender no work.
/// </summary>
public sealed class AuthFailureThrottle(IOptions<SmtpOptions> options, TimeProvider time)
{
    // Beyond this many tracked addresses, expired entries are swept before a new one is added.
    private const int SweepThreshold = 10_000;

    private readonly ConcurrentDictionary<IPAddress, Entry> _entries = new();
    private readonly SmtpOptions _options = options.Value;

    public bool IsLockedOut(IPAddress client)
    {
        if (_options.AuthFailureLimit == 0 || !_entries.TryGetValue(Key(client), out var entry))
        {
            return false;
        }
        return entry.Failures >= _options.AuthFailureLimit && !Expired(entry);
    }

    /// <summary>Records a failed login; true when this failure locks the address out.</summary>
    public bool RecordFailure(IPAddress client)
    {
        if (_options.AuthFailureLimit == 0)
        {
            return false;
        }
        if (_entries.Count >= SweepThreshold)
        {
            Sweep();
        }
        var now = time.GetUtcNow();
        var entry = _entries.AddOrUpdate(Key(client),
            _ => new Entry(1, now),
            (_, old) => new Entry(Expired(old) ? 1 : old.Failures + 1, now));
        return entry.Failures >= _options.AuthFailureLimit;
    }

    private bool Expired(Entry entry) => time.GetUtcNow() - entry.LastFailure >= _options.AuthLockoutDuration;

    private void Sweep()
    {
        foreach (var (key, entry) in _entries)
        {
            if (Expired(entry))
            {
                _entries.TryRemove(KeyValuePair.Create(key, entry));
            }
        }
    }

    private static IPAddress Key(IPAddress address)
    {
        address = NetworkPolicy.Normalize(address);
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }

    private sealed record Entry(int Failures, DateTimeOffset LastFailure);
}
