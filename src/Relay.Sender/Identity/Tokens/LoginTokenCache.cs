using System.Collections.Concurrent;
using Azure.Core;
using Microsoft.Extensions.Options;
using Relay.Sender.Submission;

namespace Relay.Sender.Identity.Tokens;

/// <summary>
/// Access tokens for SMTP logins that sign in to Microsoft 365 with their own credentials, one per
/// <see cref="CredentialKey"/>:
/// <list type="bullet">
/// <item>single-flight: however many sessions log in with one credential at once, Entra is asked once;</item>
/// <item>renewed <c>Identity:TokenCache:RefreshBeforeExpiry</c> before expiry: the first caller in that window starts
/// the renewal and every caller keeps the still-valid token meanwhile;</item>
/// <item>failures are never cached (the next attempt asks Entra again) and leave no entry behind, so wrong passwords
/// cannot fill the cache;</item>
/// <item>bounded by <c>Identity:TokenCache:MaxEntries</c>: expired entries are swept, then those closest to expiry go;</item>
/// <item>a token Graph rejects (401) is dropped with <see cref="Invalidate"/>, and the next request asks Entra again.</item>
/// </list>
/// </summary>
public sealed partial class LoginTokenCache(IOptions<IdentityOptions> options, TimeProvider time, ILogger<LoginTokenCache> logger)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    /// <summary>How often expired entries are swept even when the cache is not full.</summary>
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(10);

    private readonly TokenCacheOptions _options = options.Value.TokenCache;
    private long _lastSweepTicks = time.GetUtcNow().UtcTicks;

    public int Count => _entries.Count;

    /// <summary>
    /// A valid token for <paramref name="key"/>: from the cache, or from <paramref name="acquire"/> (which asks Entra and
    /// throws when Entra refuses). <paramref name="acquire"/> runs without the caller's token, because other callers may
    /// be waiting for the same result; the caller stops waiting when its own token is cancelled.
    /// </summary>
    public async ValueTask<AccessToken> GetTokenAsync(CredentialKey key, Func<CancellationToken, ValueTask<AccessToken>> acquire, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        while (true)
        {
            var entry = _entries.GetOrAdd(key.Value, static _ => new Entry());
            Task<AccessToken> pending;
            lock (entry)
            {
                if (entry.Removed)
                {
                    continue; // Lost a race with a failure or an eviction: start over with a fresh entry.
                }
                if (entry.Token is { } token && token.ExpiresOn > now)
                {
                    if (now < entry.RefreshAt || entry.Pending is not null)
                    {
                        SenderTelemetry.TokenCacheHits.Add(1);
                        return token;
                    }
                    // Inside the renewal window: renew in the background and keep using the valid token.
                    entry.Pending = AcquireAsync(key, entry, acquire);
                    SenderTelemetry.TokenCacheHits.Add(1);
                    return token;
                }
                entry.Pending ??= AcquireAsync(key, entry, acquire);
                pending = entry.Pending;
            }
            return await pending.WaitAsync(cancellationToken);
        }
    }

    private async Task<AccessToken> AcquireAsync(CredentialKey key, Entry entry, Func<CancellationToken, ValueTask<AccessToken>> acquire)
    {
        await Task.Yield(); // Never run Entra's round trip under the entry's lock.
        try
        {
            var token = await acquire(CancellationToken.None);
            lock (entry)
            {
                entry.Token = token;
                entry.ObtainedAt = time.GetUtcNow();
                entry.RefreshAt = RefreshTime(token, entry.ObtainedAt);
                entry.Pending = null;
            }
            MakeRoom();
            return token;
        }
        catch (Exception ex)
        {
            lock (entry)
            {
                entry.Pending = null;
                if (entry.Token is not { } current || current.ExpiresOn <= time.GetUtcNow())
                {
                    Remove(key.Value, entry);
                }
            }
            LogAcquireFailed(logger, key.Description, ex.GetType().Name);
            throw;
        }
    }

    /// <summary>
    /// When to start renewing: <c>RefreshBeforeExpiry</c> before expiry, or half way for a short-lived token, or earlier
    /// when Entra says so (<c>refresh_in</c>).
    /// </summary>
    private DateTimeOffset RefreshTime(AccessToken token, DateTimeOffset now)
    {
        var remaining = token.ExpiresOn - now;
        var early = token.ExpiresOn - (remaining / 2 < _options.RefreshBeforeExpiry ? remaining / 2 : _options.RefreshBeforeExpiry);
        return token.RefreshOn is { } refreshOn && refreshOn < early ? refreshOn : early;
    }

    /// <summary>Keeps the cache within its bound: expired entries first, then those that expire soonest.</summary>
    private void MakeRoom()
    {
        var now = time.GetUtcNow().UtcTicks;
        var last = Interlocked.Read(ref _lastSweepTicks);
        if (now - last >= SweepInterval.Ticks && Interlocked.CompareExchange(ref _lastSweepTicks, now, last) == last)
        {
            Sweep();
        }
        if (_entries.Count <= _options.MaxEntries)
        {
            return;
        }
        Sweep();
        var excess = _entries.Count - _options.MaxEntries;
        if (excess <= 0)
        {
            return;
        }
        var victims = _entries
            .Where(pair => pair.Value.Pending is null)
            .OrderBy(pair => pair.Value.Token?.ExpiresOn ?? DateTimeOffset.MinValue)
            .Take(excess)
            .ToList();
        foreach (var (id, entry) in victims)
        {
            lock (entry)
            {
                Remove(id, entry);
            }
        }
        LogEvicted(logger, victims.Count, _options.MaxEntries);
    }

    /// <summary>
    /// Drops the token of <paramref name="key"/> if it was obtained at or before <paramref name="rejectedAt"/> (when the
    /// resource rejected it), so the next caller asks Entra again. A token obtained after that instant stays: another
    /// message already replaced the rejected one. A renewal under way is kept, and callers wait for it.
    /// </summary>
    public void Invalidate(CredentialKey key, DateTimeOffset rejectedAt)
    {
        if (!_entries.TryGetValue(key.Value, out var entry))
        {
            return;
        }
        lock (entry)
        {
            if (entry.Token is null || entry.ObtainedAt > rejectedAt)
            {
                return;
            }
            entry.Token = null;
            if (entry.Pending is null)
            {
                Remove(key.Value, entry);
            }
        }
    }

    /// <summary>Drops every entry whose token has expired and that nobody is renewing.</summary>
    public int Sweep()
    {
        var now = time.GetUtcNow();
        var removed = 0;
        foreach (var (id, entry) in _entries)
        {
            lock (entry)
            {
                if (entry.Pending is null && (entry.Token is not { } token || token.ExpiresOn <= now))
                {
                    Remove(id, entry);
                    removed++;
                }
            }
        }
        return removed;
    }

    /// <summary>Called under the entry's lock.</summary>
    private void Remove(string id, Entry entry)
    {
        entry.Removed = true;
        _entries.TryRemove(new KeyValuePair<string, Entry>(id, entry));
    }

    private sealed class Entry
    {
        public AccessToken? Token;
        public DateTimeOffset ObtainedAt;
        public DateTimeOffset RefreshAt;
        public Task<AccessToken>? Pending;
        public bool Removed;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "No token for {Credential}: {Error}")]
    private static partial void LogAcquireFailed(ILogger logger, string credential, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Token cache full: {Count} credentials dropped to stay within Identity:TokenCache:MaxEntries ({MaxEntries})")]
    private static partial void LogEvicted(ILogger logger, int count, int maxEntries);
}
