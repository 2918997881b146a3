using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Reflection;
using Microsoft.Graph.Models.ODataErrors;
using Relay.Testing;
using static Relay.Sender.Tests.FakeCloud.FakeCloudClients;
using static Relay.Sender.Tests.FakeCloud.FakeGraphClients;

namespace Relay.Sender.Tests.FakeCloud;

/// <summary><see cref="FakeMicrosoftCloud.GraphFault"/>: Graph's errors on demand, stalls and dropped connections, the N-th time.</summary>
public sealed class FakeGraphFaultTests
{
    private const string Mailbox = "relay@contoso.com";

    [Theory]
    [InlineData(nameof(GraphFault.SendAsDenied), 403, "ErrorSendAsDenied")]
    [InlineData(nameof(GraphFault.InvalidRecipients), 400, "ErrorInvalidRecipients")]
    [InlineData(nameof(GraphFault.MailboxNotEnabledForRestApi), 404, "MailboxNotEnabledForRESTAPI")]
    [InlineData(nameof(GraphFault.MessageSizeExceeded), 400, "ErrorMessageSizeExceeded")]
    [InlineData(nameof(GraphFault.RequestTooLarge), 413, "RequestEntityTooLarge")]
    [InlineData(nameof(GraphFault.QuotaExceeded), 400, "ErrorQuotaExceeded")]
    [InlineData(nameof(GraphFault.SubmissionQuotaExceeded), 500, "ErrorSubmissionQuotaExceeded")]
    [InlineData(nameof(GraphFault.AccessDenied), 403, "ErrorAccessDenied")]
    [InlineData(nameof(GraphFault.InternalServerError), 500, "ErrorInternalServerTransientError")]
    [InlineData(nameof(GraphFault.GatewayTimeout), 504, "GatewayTimeout")]
    [InlineData(nameof(GraphFault.ServiceUnavailable), 503, "ErrorServerBusy")]
    public async Task EachFactoryFailsARequestAsTheSdkSeesIt(string factory, int status, string code)
    {
        await using var cloud = await StartAsync();
        var fault = Create(factory);
        cloud.GraphFault = _ => fault;
        using var graph = Graph(cloud, AppCredential(cloud));

        var failure = await Assert.ThrowsAsync<ODataError>(() => SendMimeAsync(graph, Mailbox));

        Assert.Equal(status, fault.StatusCode);
        Assert.Equal(status, failure.ResponseStatusCode);
        Assert.Equal(code, failure.Error?.Code);
        Assert.Equal(fault.Message, failure.Error?.Message);
        Assert.False(string.IsNullOrEmpty(failure.Error?.InnerError?.RequestId));
        Assert.Empty(cloud.SentMail);
    }

    [Fact]
    public async Task AFaultCanBeForOneMailboxAndForTheNthAttempt()
    {
        await using var cloud = await StartAsync();
        var offered = new ConcurrentQueue<GraphRequest>();
        cloud.GraphFault = request =>
        {
            offered.Enqueue(request);
            return request switch
            {
                { Mailbox: "guest@contoso.com" } => GraphFault.MailboxNotEnabledForRestApi(),
                { Operation: GraphOperation.SendMail, Attempt: 2 } => GraphFault.ServiceUnavailable(TimeSpan.FromSeconds(7)),
                _ => null,
            };
        };
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);

        var statuses = new List<HttpStatusCode>();
        foreach (var mailbox in new[] { Mailbox, "guest@contoso.com", Mailbox, Mailbox })
        {
            using var response = await SendMimeAsync(http, cloud, token, mailbox);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.NotFound, HttpStatusCode.ServiceUnavailable, HttpStatusCode.Accepted], statuses);
        Assert.Equal([1, 1, 2, 3], offered.Select(request => request.Attempt));
        Assert.All(offered, request =>
        {
            Assert.Equal(GraphOperation.SendMail, request.Operation);
            Assert.Null(request.MessageId);
            Assert.Equal(ClientId, request.Principal);
            Assert.False(request.IsDelegated);
            Assert.True(request.ReceivedAt > DateTimeOffset.UtcNow.AddMinutes(-1));
        });
        Assert.Equal(2, cloud.SentMail.Count);
    }

    [Fact]
    public async Task GraphFaultIsAskedBeforeSendMailFault()
    {
        await using var cloud = await StartAsync();
        var asked = new ConcurrentQueue<string>();
        cloud.GraphFault = _ =>
        {
            asked.Enqueue(nameof(cloud.GraphFault));
            return null;
        };
        cloud.SendMailFault = _ =>
        {
            asked.Enqueue(nameof(cloud.SendMailFault));
            return GraphFault.QuotaExceeded();
        };
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);

        using var response = await SendMimeAsync(http, cloud, token, Mailbox);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("ErrorQuotaExceeded", (await ErrorAsync(response)).GetProperty("code").GetString());
        Assert.Equal([nameof(cloud.GraphFault), nameof(cloud.SendMailFault)], asked);
    }

    [Fact]
    public async Task ADroppedConnectionFailsTheClientAndNothingIsSent()
    {
        await using var cloud = await StartAsync();
        cloud.GraphFault = _ => GraphFault.DropConnection();
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);

        await Assert.ThrowsAsync<HttpRequestException>(() => SendMimeAsync(http, cloud, token, Mailbox));
        // The server journals the aborted request as it unwinds, which may be just after the client saw the reset.
        var recorded = await RecordedSendMailAsync(cloud);

        Assert.Empty(cloud.SentMail);
        Assert.Equal(0, recorded.StatusCode);
    }

    [Fact]
    public async Task AConnectionDroppedAfterHandlingFailsTheClientButTheMailWasSent()
    {
        await using var cloud = await StartAsync();
        cloud.GraphFault = request => request.Attempt == 1 ? GraphFault.DropConnectionAfterHandling() : null;
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);

        await Assert.ThrowsAsync<HttpRequestException>(() => SendMimeAsync(http, cloud, token, Mailbox));
        using var retry = await SendMimeAsync(http, cloud, token, Mailbox);

        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        // What a client that retries after a network error must expect: the same message twice.
        Assert.Equal(2, cloud.SentMail.Count);
    }

    [Fact]
    public async Task AStallDelaysTheAnswerAndAFaultCanBeDelayedToo()
    {
        await using var cloud = await StartAsync();
        cloud.GraphFault = request => request.Attempt == 1
            ? GraphFault.Stall(TimeSpan.FromMilliseconds(300))
            : GraphFault.ServiceUnavailable() with { Delay = TimeSpan.FromMilliseconds(200) };
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);

        var stopwatch = Stopwatch.StartNew();
        using var stalled = await SendMimeAsync(http, cloud, token, Mailbox);
        var stalledFor = stopwatch.Elapsed;
        stopwatch.Restart();
        using var failed = await SendMimeAsync(http, cloud, token, Mailbox);
        var failedAfter = stopwatch.Elapsed;

        // Lower bounds only (a busy machine makes answers later, never earlier), less a little: the server's timer and
        // this stopwatch read different clocks, and a timer may fire a few milliseconds before the stopwatch agrees.
        Assert.Equal(HttpStatusCode.Accepted, stalled.StatusCode);
        Assert.True(stalledFor >= TimeSpan.FromMilliseconds(250), $"answered after {stalledFor}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.True(failedAfter >= TimeSpan.FromMilliseconds(150), $"answered after {failedAfter}");
        Assert.Single(cloud.SentMail);
    }

    [Fact]
    public async Task AStalledRequestTheClientGaveUpOnStillTakesEffect()
    {
        await using var cloud = await StartAsync();
        cloud.GraphFault = _ => GraphFault.Stall(TimeSpan.FromMilliseconds(500));
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);
        http.Timeout = TimeSpan.FromMilliseconds(100);

        await Assert.ThrowsAsync<TaskCanceledException>(() => SendMimeAsync(http, cloud, token, Mailbox));
        var deadline = DateTimeOffset.UtcNow.AddSeconds(10);
        while (cloud.SentMail.Count == 0 && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Single(cloud.SentMail);
    }

    [Theory]
    [InlineData("[{\"name\":\"x-a\",\"value\":\"1\"},{\"name\":\"x-b\",\"value\":\"2\"},{\"name\":\"x-c\",\"value\":\"3\"},{\"name\":\"x-d\",\"value\":\"4\"},{\"name\":\"x-e\",\"value\":\"5\"},{\"name\":\"x-f\",\"value\":\"6\"}]",
        "InvalidInternetMessageHeaderCollection", "Maximum number of headers in one message should be less than or equal to 5.")]
    [InlineData("[{\"name\":\"In-Reply-To\",\"value\":\"<a@b>\"}]",
        "InvalidInternetMessageHeader", "The internet message header name 'In-Reply-To' should start with 'x-' or 'X-'.")]
    public async Task JsonSendMailRefusesInternetMessageHeadersAsExchangeDoes(string headers, string code, string message)
    {
        await using var cloud = await StartAsync();
        var token = await AppTokenAsync(cloud);
        using var http = Http(cloud);
        using var request = Request(HttpMethod.Post, $"{cloud.GraphBaseUrl}/users/{Mailbox}/sendMail", token,
            Json($"{{\"Message\":{{\"subject\":\"Hi\",\"InternetMessageHeaders\":{headers}}}}}"));

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorAsync(response);
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal(message, error.GetProperty("message").GetString());
        Assert.Empty(cloud.SentMail);
    }

    private static GraphFault Create(string factory)
    {
        var method = typeof(GraphFault).GetMethod(factory, BindingFlags.Public | BindingFlags.Static)!;
        return (GraphFault)method.Invoke(null, method.GetParameters().Select(_ => (object?)null).ToArray())!;
    }

    private static async Task<RecordedRequest> RecordedSendMailAsync(FakeMicrosoftCloud cloud)
    {
        for (var attempt = 0; attempt < 500; attempt++)
        {
            if (cloud.Requests.SingleOrDefault(request => request.Path.EndsWith("/sendMail", StringComparison.Ordinal)) is { } recorded)
            {
                return recorded;
            }
            await Task.Delay(10);
        }
        throw new Xunit.Sdk.XunitException("The fake never recorded the sendMail request.");
    }
}
