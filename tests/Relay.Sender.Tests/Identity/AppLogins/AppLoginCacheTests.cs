using Microsoft.Extensions.Time.Testing;
using Relay.Sender.Identity.AppLogins;

namespace Relay.Sender.Tests.Identity.AppLogins;

public sealed class AppLoginCacheTests
{
    private static readonly AppLoginEntry Entry = new("11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222", null);

    [Fact]
    public void AnAnswerIsKeptForTheDurationAndNotAfter()
    {
        var time = new FakeTimeProvider();
        var cache = new AppLoginCache(TimeSpan.FromMinutes(5), time);
        cache.Remember("printer", Entry);
        cache.Remember("missing", null);

        time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromTicks(1));
        Assert.True(cache.TryGet("printer", out var found));
        Assert.Equal(Entry, found);
        Assert.True(cache.TryGet("missing", out var missing));
        Assert.Null(missing);

        time.Advance(TimeSpan.FromTicks(1));
        Assert.False(cache.TryGet("printer", out _));
        Assert.False(cache.TryGet("missing", out _));
    }

    [Fact]
    public void AZeroDurationRemembersNothing()
    {
        var cache = new AppLoginCache(TimeSpan.Zero, new FakeTimeProvider());

        cache.Remember("printer", Entry);

        Assert.False(cache.TryGet("printer", out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void AFullCacheDropsExpiredAnswersFirstAndNeverHoldsMoreThanItsCapacity()
    {
        var time = new FakeTimeProvider();
        var cache = new AppLoginCache(TimeSpan.FromMinutes(5), time, capacity: 3);
        cache.Remember("old", Entry);
        time.Advance(TimeSpan.FromMinutes(4));
        cache.Remember("a", Entry);
        cache.Remember("b", Entry);
        time.Advance(TimeSpan.FromMinutes(1));

        cache.Remember("c", Entry);
        Assert.Equal(3, cache.Count);
        Assert.True(cache.TryGet("a", out _));

        for (var i = 0; i < 10; i++)
        {
            cache.Remember($"key{i}", null);
            Assert.InRange(cache.Count, 1, 3);
        }
        Assert.True(cache.TryGet("key9", out _));
    }
}
