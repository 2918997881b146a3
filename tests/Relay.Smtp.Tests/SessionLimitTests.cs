using System.Net;
using Microsoft.Extensions.Time.Testing;

namespace Relay.Smtp.Tests;

/// <summary>Time-based limits and the AUTH lockout, on a fake clock: each limit is reached by advancing time, not by waiting.</summary>
public class SessionLimitTests
{
    private static readonly string WrongLogin = SessionHarness.B64($"\0{FakeSenderClient.Username}\0wrong");

    [Fact]
    public async Task TheFifthFailedLoginLocksTheAddressOutUntilTheLockoutPasses()
    {
        var time = new FakeTimeProvider();
        var sender = new FakeSenderClient();
        var options = SessionHarness.Options();
        var server = SessionHarness.Server(sender, options, time);
        var attacker = IPAddress.Parse("198.51.100.7");
        var wrong = $"EHLO x\r\n{string.Concat(Enumerable.Repeat($"AUTH PLAIN {WrongLogin}\r\n", 5))}NOOP\r\n";

        var first = await SessionHarness.RunAsync(wrong, Segmentation.Whole, sender, client: attacker, server: server);
        var lockedOut = await SessionHarness.RunAsync($"EHLO x\r\nAUTH PLAIN {SessionHarness.PlainLogin}\r\n", Segmentation.Whole, sender, client: attacker, server: server);
        var neighbour = await SessionHarness.RunAsync($"EHLO x\r\nAUTH PLAIN {SessionHarness.PlainLogin}\r\n", Segmentation.Whole, sender,
            client: IPAddress.Parse("198.51.100.8"), server: server);
        time.Advance(options.AuthLockoutDuration);
        var later = await SessionHarness.RunAsync($"EHLO x\r\nAUTH PLAIN {SessionHarness.PlainLogin}\r\n", Segmentation.Whole, sender, client: attacker, server: server);

        Assert.Equal(["220", "250", "535 5.7.8", "535 5.7.8", "535 5.7.8", "535 5.7.8", "535 5.7.8", "421 4.7.0"], SessionHarness.ReplyCodes(first));
        Assert.Equal(["220", "250", "421 4.7.0"], SessionHarness.ReplyCodes(lockedOut));
        Assert.Equal(["220", "250", "235 2.7.0"], SessionHarness.ReplyCodes(neighbour));
        Assert.Equal(["220", "250", "235 2.7.0"], SessionHarness.ReplyCodes(later));
        // While locked out the credentials were never even checked.
        Assert.Equal(5 + 1 + 1, sender.Logins.Count);
    }

    [Fact]
    public async Task AddressesInOneIpv6Slash64ShareTheirFailures()
    {
        var sender = new FakeSenderClient();
        var server = SessionHarness.Server(sender, SessionHarness.Options(o => o.AuthFailureLimit = 2), new FakeTimeProvider());

        await SessionHarness.RunAsync($"EHLO x\r\nAUTH PLAIN {WrongLogin}\r\n", Segmentation.Whole, sender, client: IPAddress.Parse("2001:db8:1:2::a"), server: server);
        await SessionHarness.RunAsync($"EHLO x\r\nAUTH PLAIN {WrongLogin}\r\n", Segmentation.Whole, sender, client: IPAddress.Parse("2001:db8:1:2::b"), server: server);
        var rotated = await SessionHarness.RunAsync($"EHLO x\r\nAUTH PLAIN {SessionHarness.PlainLogin}\r\n", Segmentation.Whole, sender,
            client: IPAddress.Parse("2001:db8:1:2:ffff::c"), server: server);
        var otherNetwork = await SessionHarness.RunAsync($"EHLO x\r\nAUTH PLAIN {SessionHarness.PlainLogin}\r\n", Segmentation.Whole, sender,
            client: IPAddress.Parse("2001:db8:1:3::a"), server: server);

        Assert.Equal(["220", "250", "421 4.7.0"], SessionHarness.ReplyCodes(rotated));
        Assert.Equal(["220", "250", "235 2.7.0"], SessionHarness.ReplyCodes(otherNetwork));
    }

    [Fact]
    public async Task FailedLoginsCountAsProtocolErrorsEvenWithTheLockoutOff()
    {
        var sender = new FakeSenderClient();
        var output = await SessionHarness.RunAsync(
            $"EHLO x\r\n{string.Concat(Enumerable.Repeat($"AUTH PLAIN {WrongLogin}\r\n", 10))}",
            Segmentation.Whole, sender, SessionHarness.Options(o => (o.AuthFailureLimit, o.MaxBadCommands) = (0, 3)));

        Assert.Equal(["220", "250", "535 5.7.8", "535 5.7.8", "535 5.7.8", "421 4.7.0"], SessionHarness.ReplyCodes(output));
        Assert.Equal(3, sender.Logins.Count);
    }

    [Fact]
    public async Task ATemporaryAuthFailureDoesNotCountTowardsTheLockout()
    {
        var sender = new FakeSenderClient { Unreachable = true };
        var output = await SessionHarness.RunAsync(
            $"EHLO x\r\n{string.Concat(Enumerable.Repeat($"AUTH PLAIN {SessionHarness.PlainLogin}\r\n", 6))}",
            Segmentation.Whole, sender, SessionHarness.Options(o => o.AuthFailureLimit = 2));

        Assert.Equal(["220", "250", .. Enumerable.Repeat("454 4.7.0", 6)], SessionHarness.ReplyCodes(output));
    }

    [Fact]
    public async Task AFailedLoginIsAnsweredOnlyAfterTheTarpitDelay()
    {
        await using var live = new LiveSession(new FakeSenderClient(),
            SessionHarness.Options(o => o.AuthFailureDelay = TimeSpan.FromSeconds(3)), new FakeTimeProvider());
        await live.ReadReplyAsync();
        await live.SendAndReadAsync("EHLO x");

        await live.SendAsync($"AUTH PLAIN {WrongLogin}\r\n");
        var reply = live.ReadReplyAsync();
        var advanced = TimeSpan.Zero;
        while (!reply.IsCompleted && advanced < TimeSpan.FromMinutes(1))
        {
            await Task.Delay(20);
            live.Time.Advance(TimeSpan.FromMilliseconds(500));
            advanced += TimeSpan.FromMilliseconds(500);
        }

        Assert.Equal("535 5.7.8", await reply);
        Assert.InRange(advanced, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ASessionPastItsLifetimeIsToldToReconnect()
    {
        var options = SessionHarness.Options(o => o.MaxSessionDuration = TimeSpan.FromMinutes(2));
        await using var live = new LiveSession(new FakeSenderClient(), options, new FakeTimeProvider());
        await live.ReadReplyAsync();

        Assert.Equal("250", await live.SendAndReadAsync("EHLO x"));
        live.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("250 2.0.0", await live.SendAndReadAsync("NOOP"));
        live.Time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal("421 4.4.2", await live.ReadReplyAsync());
        Assert.Null(await live.ReadReplyAsync());
    }

    [Fact]
    public async Task ACommandTrickledByteByByteMustStillArriveWithinTheCommandTimeout()
    {
        await using var live = new LiveSession(new FakeSenderClient(), SessionHarness.Options(), new FakeTimeProvider());
        await live.ReadReplyAsync();

        foreach (var character in "NOOP")
        {
            await live.SendAsync(character.ToString());
            live.Time.Advance(TimeSpan.FromMinutes(2));
        }

        Assert.Equal("421 4.4.2", await live.ReadReplyAsync());
    }

    [Fact]
    public async Task ContentTrickledBelowTheMinimumRateEndsTheSession()
    {
        var options = SessionHarness.Options(o => (o.MinDataRate, o.MinDataRateGracePeriod) = (1000, TimeSpan.FromSeconds(10)));
        var sender = new FakeSenderClient();
        await using var live = new LiveSession(sender, options, new FakeTimeProvider());
        await live.OpenDataAsync();

        await live.SendAsync("Subject: slow\r\n");
        live.Time.Advance(TimeSpan.FromSeconds(11));
        await live.SendAsync("still here\r\n");

        Assert.Equal("421 4.4.2", await live.ReadReplyAsync());
        Assert.Empty(sender.Delivered);
        await live.Ended.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, sender.Cancelled);
    }

    [Fact]
    public async Task AStalledMessageTimesOutAfterTheDataTimeout()
    {
        var sender = new FakeSenderClient();
        await using var live = new LiveSession(sender, SessionHarness.Options(), new FakeTimeProvider());
        await live.OpenDataAsync();

        // The 354 was flushed by the read that now waits for content, so its timer is already running.
        live.Time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal("421 4.4.2", await live.ReadReplyAsync());
        Assert.Empty(sender.Delivered);
    }
}
