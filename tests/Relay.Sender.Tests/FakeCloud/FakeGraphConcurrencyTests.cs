using System.Net;
using Relay.Testing;
using static Relay.Sender.Tests.FakeCloud.FakeGraphClients;

namespace Relay.Sender.Tests.FakeCloud;

/// <summary>Outlook's limit of 4 concurrent requests per app and mailbox, as <see cref="FakeMicrosoftCloud"/> enforces and measures it.</summary>
public sealed class FakeGraphConcurrencyTests
{
    private const string Mailbox = "relay@contoso.com";

    [Fact]
    public async Task TheFifthConcurrentRequestForAMailboxIs429ApplicationThrottledWithRetryAfter()
    {
        await using var cloud = await StartAsync();
        using var held = new HeldRequests(cloud, count: 4);
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);

        var first = Enumerable.Range(0, 4).Select(_ => SendMimeAsync(http, cloud, token, Mailbox)).ToArray();
        await held.AllHeldAsync();
        using var fifth = await SendMimeAsync(http, cloud, token, Mailbox);
        held.Release();
        var responses = await Task.WhenAll(first);

        Assert.Equal((HttpStatusCode)429, fifth.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), fifth.Headers.RetryAfter?.Delta);
        Assert.Equal("1", string.Join(",", fifth.Headers.GetValues("Retry-After")));
        var error = await ErrorAsync(fifth);
        Assert.Equal("ApplicationThrottled", error.GetProperty("code").GetString());
        Assert.Equal("Application is over its MailboxConcurrency limit.", error.GetProperty("message").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("innerError").GetProperty("request-id").GetString()));
        Assert.All(responses, response => Assert.Equal(HttpStatusCode.Accepted, response.StatusCode));
        Assert.Equal(4, cloud.SentMail.Count);
        Assert.Equal(4, cloud.PeakConcurrency(Mailbox));
        Assert.Equal(4, cloud.PeakConcurrency());
        DisposeAll(responses);
    }

    [Fact]
    public async Task TheMailboxIsOneWhateverItsCaseOrWhenAddressedByObjectIdAndOtherMailboxesAndAppsAreNotAffected()
    {
        await using var cloud = await StartAsync();
        var objectId = cloud.RegisterUser(TenantId, "Relay@Contoso.com", "a password");
        const string otherClientId = "4b6d8f0a-2c4e-4a6b-8d0f-1a3c5e7a9c38";
        cloud.RegisterApp(TenantId, otherClientId, "other~secret");
        using var held = new HeldRequests(cloud, count: 4);
        var token = await AppTokenAsync(cloud);
        var otherAppToken = await AppTokenAsync(cloud, otherClientId, "other~secret");
        using var http = Http(cloud);
        var first = Enumerable.Range(0, 4).Select(_ => SendMimeAsync(http, cloud, token, Mailbox)).ToArray();
        await held.AllHeldAsync();

        using var upperCase = await SendMimeAsync(http, cloud, token, Mailbox.ToUpperInvariant());
        using var byObjectId = await SendMimeAsync(http, cloud, token, objectId);
        using var otherMailbox = await SendMimeAsync(http, cloud, token, "scanner@contoso.com");
        using var otherApp = await SendMimeAsync(http, cloud, otherAppToken, Mailbox);
        held.Release();
        var responses = await Task.WhenAll(first);

        Assert.Equal((HttpStatusCode)429, upperCase.StatusCode);
        Assert.Equal((HttpStatusCode)429, byObjectId.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, otherMailbox.StatusCode);
        // Outlook counts per app ID and mailbox: another app has its own 4.
        Assert.Equal(HttpStatusCode.Accepted, otherApp.StatusCode);
        Assert.Equal(5, cloud.PeakConcurrency(objectId));
        Assert.Equal(5, cloud.PeakConcurrency(Mailbox.ToUpperInvariant()));
        Assert.Equal(1, cloud.PeakConcurrency("scanner@contoso.com"));
        Assert.Equal(0, cloud.PeakConcurrency("nobody@contoso.com"));
        DisposeAll(responses);
    }

    [Fact]
    public async Task TheLimitAndTheRetryAfterAreConfigurable()
    {
        await using var cloud = await StartAsync();
        cloud.MailboxConcurrencyLimit = 1;
        cloud.ThrottleRetryAfter = TimeSpan.FromSeconds(2.5);
        using var held = new HeldRequests(cloud, count: 1);
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);

        var first = SendMimeAsync(http, cloud, token, Mailbox);
        await held.AllHeldAsync();
        using var second = await SendMimeAsync(http, cloud, token, Mailbox);
        held.Release();
        using var firstResponse = await first;

        Assert.Equal(HttpStatusCode.Accepted, firstResponse.StatusCode);
        Assert.Equal((HttpStatusCode)429, second.StatusCode);
        Assert.Equal("3", string.Join(",", second.Headers.GetValues("Retry-After")));
        Assert.Equal(1, cloud.PeakConcurrency(Mailbox));
        Assert.Throws<ArgumentOutOfRangeException>(() => cloud.MailboxConcurrencyLimit = 0);
    }

    [Fact]
    public async Task FiftyMailboxesInParallelAreMeasuredPerMailboxAndOverall()
    {
        await using var cloud = await StartAsync();
        cloud.GraphLatency = TimeSpan.FromMilliseconds(100);
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);
        var mailboxes = Enumerable.Range(0, 50).Select(i => $"printer{i:00}@contoso.com").ToArray();

        // A well-behaved client: at most 4 requests in flight per mailbox, however many mailboxes it serves at once.
        var statuses = await Task.WhenAll(mailboxes.Select(async mailbox =>
        {
            using var perMailbox = new SemaphoreSlim(4);
            return await Task.WhenAll(Enumerable.Range(0, 6).Select(async _ =>
            {
                await perMailbox.WaitAsync();
                try
                {
                    using var response = await SendMimeAsync(http, cloud, token, mailbox);
                    return response.StatusCode;
                }
                finally
                {
                    perMailbox.Release();
                }
            }));
        }));

        Assert.All(statuses.SelectMany(status => status), status => Assert.Equal(HttpStatusCode.Accepted, status));
        Assert.Equal(300, cloud.SentMail.Count);
        Assert.All(mailboxes, mailbox => Assert.InRange(cloud.PeakConcurrency(mailbox), 1, 4));
        Assert.InRange(cloud.PeakConcurrency(), 5, 200);
    }

    [Fact]
    public async Task GraphLatencyIsSpentInsideTheConcurrencyWindow()
    {
        await using var cloud = await StartAsync();
        cloud.GraphLatency = TimeSpan.FromMilliseconds(300);
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);

        var started = DateTimeOffset.UtcNow;
        using var response = await SendMimeAsync(http, cloud, token, Mailbox);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.True(DateTimeOffset.UtcNow - started >= TimeSpan.FromMilliseconds(300));
        var recorded = cloud.Requests.Single(request => request.Path.EndsWith("/sendMail", StringComparison.Ordinal));
        Assert.True(recorded.CompletedAt - recorded.ReceivedAt >= TimeSpan.FromMilliseconds(290));
        Assert.Equal(1, cloud.PeakConcurrency(Mailbox));
    }

    private static void DisposeAll(IEnumerable<HttpResponseMessage> responses)
    {
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }
}

/// <summary>
/// Holds the first <c>count</c> Graph requests inside the fake's concurrency window (blocking their server threads in
/// <see cref="FakeMicrosoftCloud.GraphFault"/>) until <see cref="Release"/>, so that concurrency is certain rather than timed.
/// </summary>
internal sealed class HeldRequests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly CountdownEvent _entered;
    private readonly ManualResetEventSlim _released = new();
    private int _seen;

    public HeldRequests(FakeMicrosoftCloud cloud, int count, Func<GraphRequest, bool>? which = null)
    {
        _entered = new CountdownEvent(count);
        cloud.GraphFault = request =>
        {
            if ((which?.Invoke(request) ?? true) && Interlocked.Increment(ref _seen) <= count)
            {
                _entered.Signal();
                _released.Wait(Patience);
            }
            return null;
        };
    }

    public async Task AllHeldAsync() => Assert.True(await Task.Run(() => _entered.Wait(Patience)), "The requests never reached the fake.");

    public void Release() => _released.Set();

    /// <summary>Lets any held request go (the events stay undisposed: a server thread may still be leaving its wait).</summary>
    public void Dispose() => _released.Set();
}
