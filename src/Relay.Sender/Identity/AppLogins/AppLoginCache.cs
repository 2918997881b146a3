using System.Collections.Concurrent;

namespace Relay.Sender.Identity.AppLogins;

/// <summary>
/// Answers (entries and "no such key" alike) remembered for a fixed time. Bounded the simplest way that stays correct:
/// when it holds <see cref="Capacity"/> keys, expired answers are dropped and, if it is still full, everything is; the
/// worst an attacker trying many keys can do is make Relay ask again.
/// </summary>
internal sealed class AppLoginCache(TimeSpan duration, TimeProvider timeProvider, int capacity = AppLoginCache.DefaultCapacity)
{
    /// <summary>Keys remembered at once by default; each answer is a few hundred bytes.</summary>
    public const int DefaultCapacity = 10_000;

    private readonly ConcurrentDictionary<string, Answer> _answers = new(StringComparer.Ordinal);
    private readonly Lock _writeGate = new();

    public int Capacity => capacity;

    public int Count => _answers.Count;

    /// <summary>The remembered answer for <paramref name="key"/> (which may be "none": a null entry), if it has not expired.</summary>
    public bool TryGet(string key, out AppLoginEntry? entry)
    {
        if (_answers.TryGetValue(key, out var answer) && timeProvider.GetUtcNow() < answer.ExpiresAt)
        {
            entry = answer.Entry;
            return true;
        }
        entry = null;
        return false;
    }

    public void Remember(string key, AppLoginEntry? entry)
    {
        if (duration <= TimeSpan.Zero)
        {
            return;
        }
        // Writers take the lock (once per table request, so rarely contended) so the bound is exact; readers do not.
        lock (_writeGate)
        {
            var now = timeProvider.GetUtcNow();
            if (_answers.Count >= capacity && !_answers.ContainsKey(key))
            {
                foreach (var (expiredKey, expired) in _answers.Where(pair => pair.Value.ExpiresAt <= now))
                {
                    _answers.TryRemove(expiredKey, out _);
                }
                if (_answers.Count >= capacity)
                {
                    _answers.Clear();
                }
            }
            _answers[key] = new Answer(entry, now + duration);
        }
    }

    private readonly record struct Answer(AppLoginEntry? Entry, DateTimeOffset ExpiresAt);
}
