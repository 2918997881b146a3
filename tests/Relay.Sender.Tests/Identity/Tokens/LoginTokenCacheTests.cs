using Azure.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Relay.Sender.Identity;
using Relay.Sender.Identity.Tokens;

namespace Relay.Sender.Tests.Identity.Tokens;

public sealed class LoginTokenCacheTests
{
    private static readonly CredentialKey Alice = CredentialKey.For("user", "tenant", "alice@contoso.com", "right password");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));

    private LoginTokenCache Cache(int maxEntries = 100) =>
        new(Options.Create(new IdentityOptions { TokenCache = { MaxEntries = maxEntries, RefreshBeforeExpiry = TimeSpan.FromMinutes(5) } }),
            _time, NullLogger<LoginTokenCache>.Instance);

    private AccessToken Token(string value, TimeSpan lifetime) => new(value, _time.GetUtcNow() + lifetime);

    /// <summary>Entra as the cache sees it: each sign-in issues the next token, t1, t2, …, valid for an hour.</summary>
    private sealed class CountingEntra(LoginTokenCacheTests test)
    {
        private int _requests;

        public int Requests => Volatile.Read(ref _requests);

        public ValueTask<AccessToken> Acquire(CancellationToken cancellationToken) =>
            ValueTask.FromResult(test.Token($"t{Interlocked.Increment(ref _requests)}", TimeSpan.FromHours(1)));
    }

    [Fact]
    public async Task ConcurrentRequestsForOneCredentialAskEntraOnce()
    {
        var cache = Cache();
        var requests = 0;
        var answer = new TaskCompletionSource<AccessToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        async ValueTask<AccessToken> Acquire(CancellationToken _)
        {
            Interlocked.Increment(ref requests);
            return await answer.Task;
        }

        var waiting = Enumerable.Range(0, 50).Select(_ => cache.GetTokenAsync(Alice, Acquire, CancellationToken.None).AsTask()).ToArray();
        answer.SetResult(Token("t1", TimeSpan.FromHours(1)));
        var tokens = await Task.WhenAll(waiting);

        Assert.Equal(1, requests);
        Assert.All(tokens, token => Assert.Equal("t1", token.Token));
    }

    [Fact]
    public async Task ACachedTokenAnswersOnlyForTheExactCredentialThatObtainedIt()
    {
        var cache = Cache();
        var requests = 0;
        ValueTask<AccessToken> Acquire(CancellationToken _) => ValueTask.FromResult(Token($"t{Interlocked.Increment(ref requests)}", TimeSpan.FromHours(1)));
        var wrongPassword = CredentialKey.For("user", "tenant", "alice@contoso.com", "wrong password");

        await cache.GetTokenAsync(Alice, Acquire, CancellationToken.None);
        await cache.GetTokenAsync(wrongPassword, Acquire, CancellationToken.None);

        Assert.Equal(2, requests);
        Assert.NotEqual(Alice, wrongPassword);
    }

    [Fact]
    public async Task AFailureIsSharedByItsWaitersButNeitherCachedNorKept()
    {
        var cache = Cache();
        var requests = 0;
        ValueTask<AccessToken> Refuse(CancellationToken _)
        {
            Interlocked.Increment(ref requests);
            return ValueTask.FromException<AccessToken>(new InvalidOperationException("AADSTS50126"));
        }

        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetTokenAsync(Alice, Refuse, CancellationToken.None).AsTask());
        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetTokenAsync(Alice, Refuse, CancellationToken.None).AsTask());

        Assert.Equal(2, requests);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task InsideTheRenewalWindowTheValidTokenIsKeptWhileOneRenewalRuns()
    {
        var cache = Cache();
        var requests = 0;
        var renewal = new TaskCompletionSource<AccessToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        async ValueTask<AccessToken> Acquire(CancellationToken _) =>
            Interlocked.Increment(ref requests) == 1 ? Token("first", TimeSpan.FromHours(1)) : await renewal.Task;

        await cache.GetTokenAsync(Alice, Acquire, CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(56)); // four minutes left: inside the five-minute window

        var during = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => cache.GetTokenAsync(Alice, Acquire, CancellationToken.None).AsTask()));
        renewal.SetResult(Token("second", TimeSpan.FromHours(1)));
        await WaitUntilAsync(async () => (await cache.GetTokenAsync(Alice, Acquire, CancellationToken.None)).Token == "second");

        Assert.All(during, token => Assert.Equal("first", token.Token));
        Assert.Equal(2, requests);
    }

    [Fact]
    public async Task AnExpiredTokenIsNeverReturned()
    {
        var cache = Cache();
        var entra = new CountingEntra(this);

        await cache.GetTokenAsync(Alice, entra.Acquire, CancellationToken.None);
        _time.Advance(TimeSpan.FromHours(2));
        var token = await cache.GetTokenAsync(Alice, entra.Acquire, CancellationToken.None);

        Assert.Equal("t2", token.Token);
        Assert.True(token.ExpiresOn > _time.GetUtcNow());
    }

    [Fact]
    public async Task AShortLivedTokenIsRenewedHalfWayRatherThanAtOnce()
    {
        var cache = Cache();
        var requests = 0;
        ValueTask<AccessToken> Acquire(CancellationToken _) =>
            ValueTask.FromResult(Token($"t{Interlocked.Increment(ref requests)}", TimeSpan.FromMinutes(4)));

        await cache.GetTokenAsync(Alice, Acquire, CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(1));
        await cache.GetTokenAsync(Alice, Acquire, CancellationToken.None);

        Assert.Equal(1, requests);
    }

    [Fact]
    public async Task TheCacheStaysWithinItsBoundByDroppingTheTokensClosestToExpiry()
    {
        var cache = Cache(maxEntries: 16);
        for (var i = 0; i < 40; i++)
        {
            var lifetime = TimeSpan.FromMinutes(30 + i);
            await cache.GetTokenAsync(CredentialKey.For("app", "tenant", $"client-{i}", "secret"),
                _ => ValueTask.FromResult(Token($"t{i}", lifetime)), CancellationToken.None);
        }

        Assert.Equal(16, cache.Count);
        var requests = 0;
        var newest = await cache.GetTokenAsync(CredentialKey.For("app", "tenant", "client-39", "secret"),
            _ => ValueTask.FromResult(Token($"fresh{++requests}", TimeSpan.FromHours(1))), CancellationToken.None);
        Assert.Equal("t39", newest.Token);
        var oldest = await cache.GetTokenAsync(CredentialKey.For("app", "tenant", "client-0", "secret"),
            _ => ValueTask.FromResult(Token($"fresh{++requests}", TimeSpan.FromHours(1))), CancellationToken.None);
        Assert.Equal("fresh1", oldest.Token);
    }

    [Fact]
    public async Task SweepDropsExpiredEntries()
    {
        var cache = Cache();
        await cache.GetTokenAsync(Alice, _ => ValueTask.FromResult(Token("t", TimeSpan.FromMinutes(10))), CancellationToken.None);
        await cache.GetTokenAsync(CredentialKey.For("app", "t", "c", "s"), _ => ValueTask.FromResult(Token("u", TimeSpan.FromHours(2))), CancellationToken.None);

        _time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(1, cache.Sweep());
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public async Task ACallerThatGivesUpDoesNotCancelTheSignInOthersWaitFor()
    {
        var cache = Cache();
        var answer = new TaskCompletionSource<AccessToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var impatient = new CancellationTokenSource();
        var first = cache.GetTokenAsync(Alice, async _ => await answer.Task, impatient.Token).AsTask();
        var second = cache.GetTokenAsync(Alice, _ => throw new InvalidOperationException("a second sign-in"), CancellationToken.None).AsTask();

        await impatient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        answer.SetResult(Token("t1", TimeSpan.FromHours(1)));

        Assert.Equal("t1", (await second).Token);
    }

    [Fact]
    public async Task ATokenGraphRejectedIsDroppedAndTheNextRequestSignsInAgain()
    {
        var cache = Cache();
        var entra = new CountingEntra(this);
        await cache.GetTokenAsync(Alice, entra.Acquire, CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(1));

        cache.Invalidate(Alice, rejectedAt: _time.GetUtcNow());
        var token = await cache.GetTokenAsync(Alice, entra.Acquire, CancellationToken.None);

        Assert.Equal("t2", token.Token);
    }

    [Fact]
    public async Task ATokenObtainedAfterTheRejectionIsKept()
    {
        var cache = Cache();
        var entra = new CountingEntra(this);
        await cache.GetTokenAsync(Alice, entra.Acquire, CancellationToken.None);
        var rejectedAt = _time.GetUtcNow();
        cache.Invalidate(Alice, rejectedAt);
        _time.Advance(TimeSpan.FromSeconds(1));
        await cache.GetTokenAsync(Alice, entra.Acquire, CancellationToken.None); // Another message's renewal.

        cache.Invalidate(Alice, rejectedAt); // A slower message's 401 for the same old token.
        var token = await cache.GetTokenAsync(Alice, entra.Acquire, CancellationToken.None);

        Assert.Equal("t2", token.Token);
        Assert.Equal(2, entra.Requests);
    }

    [Fact]
    public async Task ARejectedTokenIsNotHandedOutWhileItsRenewalRuns()
    {
        var cache = Cache();
        var requests = 0;
        var renewal = new TaskCompletionSource<AccessToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        async ValueTask<AccessToken> Acquire(CancellationToken _) =>
            Interlocked.Increment(ref requests) == 1 ? Token("first", TimeSpan.FromHours(1)) : await renewal.Task;
        await cache.GetTokenAsync(Alice, Acquire, CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(56)); // Inside the renewal window: the next request starts a renewal.
        await cache.GetTokenAsync(Alice, Acquire, CancellationToken.None);

        cache.Invalidate(Alice, _time.GetUtcNow());
        var waiting = cache.GetTokenAsync(Alice, Acquire, CancellationToken.None).AsTask();
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted, "The rejected token was handed out");
        renewal.SetResult(Token("second", TimeSpan.FromHours(1)));

        Assert.Equal("second", (await waiting).Token);
        Assert.Equal(2, requests);
    }

    [Fact]
    public async Task InvalidatingAnUnknownCredentialDoesNothing()
    {
        var cache = Cache();
        await cache.GetTokenAsync(Alice, _ => ValueTask.FromResult(Token("t", TimeSpan.FromHours(1))), CancellationToken.None);

        cache.Invalidate(CredentialKey.For("user", "tenant", "bob@contoso.com", "pw"), _time.GetUtcNow());

        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public async Task ALoginCredentialSignsInWithAFreshAzureCredentialAfterGraphRejectedItsToken()
    {
        // An Azure.Identity credential keeps the tokens it got in a cache of its own: asking the same one again after a
        // 401 could hand back the rejected token.
        var cache = Cache();
        var built = 0;
        TokenCredential SignIn()
        {
            var generation = Interlocked.Increment(ref built);
            return DelegatedTokenCredential.Create((_, _) => Token($"from-credential-{generation}", TimeSpan.FromHours(1)));
        }
        var credential = new LoginCredential(cache, Alice, LoginKind.AppCredential, SignIn, "https://graph.microsoft.com/.default");
        var scope = new TokenRequestContext(["https://graph.microsoft.com/.default"]);

        var first = await credential.GetTokenAsync(scope, CancellationToken.None);
        var cached = await credential.GetTokenAsync(scope, CancellationToken.None);
        credential.Invalidate(_time.GetUtcNow());
        var renewed = await credential.GetTokenAsync(scope, CancellationToken.None);

        Assert.Equal("from-credential-1", first.Token);
        Assert.Equal("from-credential-1", cached.Token);
        Assert.Equal("from-credential-2", renewed.Token);
    }

    [Fact]
    public void KeysDescribeTheCredentialButNeverItsSecret()
    {
        var key = CredentialKey.For("user", "tenant", "alice@contoso.com", "right password");

        Assert.DoesNotContain("right password", key.ToString());
        Assert.DoesNotContain("right password", key.Value);
        Assert.Contains("alice@contoso.com", key.ToString());
        Assert.Equal(key, CredentialKey.For("user", "TENANT", "Alice@Contoso.com", "right password"));
        Assert.NotEqual(key, CredentialKey.For("user", "tenant", "alice@contoso.com", "Right password"));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        for (var attempt = 0; attempt < 500; attempt++)
        {
            if (await condition())
            {
                return;
            }
            await Task.Delay(10);
        }
        Assert.Fail("The condition did not become true within 5 seconds.");
    }
}
