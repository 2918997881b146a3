using System.Net;
using Microsoft.Graph.Models;
using Microsoft.Graph.Models.ODataErrors;
using Microsoft.Graph.Users.Item.SendMail;
using Relay.Testing;
using static Relay.Sender.Tests.FakeCloud.FakeCloudClients;
using static Relay.Sender.Tests.FakeCloud.FakeGraphClients;

namespace Relay.Sender.Tests.FakeCloud;

/// <summary>
/// Retry-After as a schedule: the fake records when each attempt arrived, so a test can prove a client waited. Driven by
/// the Graph SDK's own RetryHandler (429, 503 and 504; Retry-After in seconds).
/// </summary>
public sealed class FakeGraphRetryAfterTests
{
    private const string Mailbox = "relay@contoso.com";

    /// <summary>The SDK's delay is a timer that may fire a hair early against the fake's clock.</summary>
    private static readonly TimeSpan ClockSlack = TimeSpan.FromMilliseconds(50);

    [Theory]
    [InlineData(429)]
    [InlineData(503)]
    [InlineData(504)]
    public async Task TheSdkWaitsRetryAfterBeforeItsNextAttempt(int status)
    {
        await using var cloud = await StartAsync();
        cloud.GraphFault = request => request.Attempt == 1 ? Fault(status, TimeSpan.FromSeconds(1)) : null;
        using var graph = Graph(cloud, AppCredential(cloud));

        await graph.Users[Mailbox].SendMail.PostAsync(JsonMail());

        var attempts = SendMailRequests(cloud);
        Assert.Equal([status, 202], attempts.Select(request => request.StatusCode));
        Assert.True(attempts[1].ReceivedAt - attempts[0].CompletedAt >= TimeSpan.FromSeconds(1) - ClockSlack,
            $"retried {attempts[1].ReceivedAt - attempts[0].CompletedAt} after the {status}");
        Assert.Equal("1", attempts[1].Headers["Retry-Attempt"]);
        Assert.Single(cloud.SentMail);
    }

    [Fact]
    public async Task TheSdkDoesNotRetryA500()
    {
        await using var cloud = await StartAsync();
        cloud.GraphFault = _ => GraphFault.InternalServerError(TimeSpan.FromSeconds(1));
        using var graph = Graph(cloud, AppCredential(cloud));

        var failure = await Assert.ThrowsAsync<ODataError>(() => graph.Users[Mailbox].SendMail.PostAsync(JsonMail()));

        Assert.Equal(500, failure.ResponseStatusCode);
        Assert.Single(SendMailRequests(cloud));
    }

    [Fact]
    public async Task AClientThrottledByTheConcurrencyLimitSucceedsAfterRetryAfter()
    {
        await using var cloud = await StartAsync();
        using var held = new HeldRequests(cloud, count: 4);
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);
        using var graph = Graph(cloud, AppCredential(cloud));
        var first = Enumerable.Range(0, 4).Select(_ => SendMimeAsync(http, cloud, token, Mailbox)).ToArray();
        await held.AllHeldAsync();

        var sdk = graph.Users[Mailbox].SendMail.PostAsync(JsonMail());
        var deadline = DateTimeOffset.UtcNow.AddSeconds(10);
        while (!cloud.Requests.Any(request => request.StatusCode == 429) && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        held.Release();
        await sdk;
        foreach (var response in await Task.WhenAll(first))
        {
            response.Dispose();
        }

        var throttled = cloud.Requests.Single(request => request.StatusCode == 429);
        var retried = cloud.Requests.Single(request => request.Headers.ContainsKey("Retry-Attempt"));
        Assert.Equal(202, retried.StatusCode);
        Assert.True(retried.ReceivedAt - throttled.CompletedAt >= TimeSpan.FromSeconds(1) - ClockSlack);
        Assert.Equal(5, cloud.SentMail.Count);
        Assert.Equal(4, cloud.PeakConcurrency(Mailbox));
    }

    [Fact]
    public async Task WithRetriesOffThe429ReachesTheCallerWithItsRetryAfter()
    {
        await using var cloud = await StartAsync();
        cloud.GraphFault = _ => GraphFault.Throttled(TimeSpan.FromSeconds(30));
        using var graph = Graph(cloud, AppCredential(cloud));

        var failure = await Assert.ThrowsAsync<ODataError>(() => SendMimeAsync(graph, Mailbox));

        Assert.Equal(429, failure.ResponseStatusCode);
        Assert.Equal("ApplicationThrottled", failure.Error?.Code);
        Assert.Equal("30", Assert.Single(failure.ResponseHeaders["Retry-After"]));
    }

    private static GraphFault Fault(int status, TimeSpan retryAfter) => status switch
    {
        429 => GraphFault.Throttled(retryAfter),
        503 => GraphFault.ServiceUnavailable(retryAfter),
        504 => GraphFault.GatewayTimeout(retryAfter),
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    private static List<RecordedRequest> SendMailRequests(FakeMicrosoftCloud cloud) =>
        cloud.Requests.Where(request => request.Path.EndsWith("/sendMail", StringComparison.Ordinal)).OrderBy(request => request.ReceivedAt).ToList();

    private static SendMailPostRequestBody JsonMail() => new()
    {
        Message = new Message
        {
            Subject = "Hello",
            Body = new ItemBody { ContentType = BodyType.Text, Content = "Hello from the relay." },
            ToRecipients = [new Recipient { EmailAddress = new EmailAddress { Address = "someone@example.com" } }],
        },
        SaveToSentItems = false,
    };
}
