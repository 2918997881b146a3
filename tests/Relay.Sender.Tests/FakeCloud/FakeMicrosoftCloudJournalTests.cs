using System.Net;
using Relay.Testing;
using static Relay.Sender.Tests.FakeCloud.FakeGraphClients;

namespace Relay.Sender.Tests.FakeCloud;

/// <summary>The journal of requests and accepted mail, and forgetting it (what a long load run needs).</summary>
public sealed class FakeMicrosoftCloudJournalTests
{
    [Fact]
    public async Task ClearJournalForgetsRecordedRequestsAndSentMailAndRecordsWhatComesAfter()
    {
        await using var cloud = await StartAsync();
        using var http = Http(cloud);
        var token = await AppTokenAsync(cloud);
        using (var first = await SendMimeAsync(http, cloud, token, "first@contoso.com"))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }
        Assert.Equal("first@contoso.com", Assert.Single(cloud.SentMail).Mailbox);
        Assert.NotEmpty(cloud.Requests);

        cloud.ClearJournal();

        Assert.Empty(cloud.SentMail);
        Assert.Empty(cloud.Requests);
        using var second = await SendMimeAsync(http, cloud, token, "second@contoso.com");
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal("second@contoso.com", Assert.Single(cloud.SentMail).Mailbox);
    }
}
