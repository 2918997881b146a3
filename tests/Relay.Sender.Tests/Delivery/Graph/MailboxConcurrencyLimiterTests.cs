using Relay.Sender.Delivery.Graph;

namespace Relay.Sender.Tests.Delivery.Graph;

public sealed class MailboxConcurrencyLimiterTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task NeverMoreThanTheLimitAreInFlightForOneMailboxWhateverItsCase()
    {
        var limiter = new MailboxConcurrencyLimiter(4);
        var inFlight = 0;
        var peak = 0;

        var requests = Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            using var slot = await limiter.AcquireAsync(i % 2 == 0 ? "scanner@contoso.com" : "SCANNER@Contoso.com", CancellationToken.None);
            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref peak, now);
            await Task.Delay(5);
            Interlocked.Decrement(ref inFlight);
        })).ToArray();
        await Task.WhenAll(requests).WaitAsync(Patience);

        Assert.Equal(4, peak);
    }

    [Fact]
    public async Task AFullMailboxDoesNotHoldUpAnother()
    {
        var limiter = new MailboxConcurrencyLimiter(2);
        using var first = await limiter.AcquireAsync("busy@contoso.com", CancellationToken.None);
        using var second = await limiter.AcquireAsync("busy@contoso.com", CancellationToken.None);

        var third = limiter.AcquireAsync("busy@contoso.com", CancellationToken.None).AsTask();
        var others = await Task.WhenAll(Enumerable.Range(0, 10)
            .Select(i => limiter.AcquireAsync($"user{i}@contoso.com", CancellationToken.None).AsTask())).WaitAsync(Patience);

        Assert.False(third.IsCompleted);
        Assert.Equal(11, limiter.ActiveMailboxes);
        foreach (var lease in others)
        {
            lease.Dispose();
        }
        first.Dispose();
        (await third.WaitAsync(Patience)).Dispose();
    }

    [Fact]
    public async Task AReleasedSlotGoesToTheFirstWaiter()
    {
        var limiter = new MailboxConcurrencyLimiter(1);
        var held = await limiter.AcquireAsync("a@contoso.com", CancellationToken.None);
        var order = new List<int>();
        var waiters = Enumerable.Range(1, 3).Select(async i =>
        {
            using var slot = await limiter.AcquireAsync("a@contoso.com", CancellationToken.None);
            lock (order)
            {
                order.Add(i);
            }
        }).ToArray();

        held.Dispose();
        await Task.WhenAll(waiters).WaitAsync(Patience);

        Assert.Equal([1, 2, 3], order);
    }

    [Fact]
    public async Task AMailboxWithNothingInFlightLeavesNoEntryBehind()
    {
        var limiter = new MailboxConcurrencyLimiter(4);

        await Task.WhenAll(Enumerable.Range(0, 1000).Select(async i =>
        {
            using var slot = await limiter.AcquireAsync($"user{i}@contoso.com", CancellationToken.None);
            await Task.Yield();
        })).WaitAsync(Patience);

        Assert.Equal(0, limiter.ActiveMailboxes);
    }

    [Fact]
    public async Task AWaiterThatGivesUpLeavesTheQueueAndTakesNoSlot()
    {
        var limiter = new MailboxConcurrencyLimiter(1);
        var held = await limiter.AcquireAsync("a@contoso.com", CancellationToken.None);
        using var giveUp = new CancellationTokenSource();

        var impatient = limiter.AcquireAsync("a@contoso.com", giveUp.Token).AsTask();
        var patient = limiter.AcquireAsync("A@contoso.com", CancellationToken.None).AsTask();
        await giveUp.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => impatient);
        Assert.False(patient.IsCompleted);
        held.Dispose();
        (await patient.WaitAsync(Patience)).Dispose();
        Assert.Equal(0, limiter.ActiveMailboxes);
    }

    [Fact]
    public async Task DisposingALeaseTwiceGivesBackOneSlot()
    {
        var limiter = new MailboxConcurrencyLimiter(1);
        var lease = await limiter.AcquireAsync("a@contoso.com", CancellationToken.None);

        lease.Dispose();
        lease.Dispose();
        using var second = await limiter.AcquireAsync("a@contoso.com", CancellationToken.None);
        var third = limiter.AcquireAsync("a@contoso.com", CancellationToken.None).AsTask();

        Assert.False(third.IsCompleted);
        second.Dispose();
        (await third.WaitAsync(Patience)).Dispose();
    }

    [Fact]
    public void ALimitBelowOneIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new MailboxConcurrencyLimiter(0));

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
