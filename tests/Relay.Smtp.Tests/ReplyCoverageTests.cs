using System.Net;
using System.Reflection;
using Relay.Smtp.Protocol;

namespace Relay.Smtp.Tests;

/// <summary>
/// Every reply Relay.Smtp can send (each member of <see cref="SmtpReplies"/>) is produced by a session here, or, where
/// only a real socket can produce it, named with the test that does. A new reply without either fails this class.
/// </summary>
public class ReplyCoverageTests
{
    private static readonly string Auth = $"EHLO x\r\nAUTH PLAIN {SessionHarness.PlainLogin}\r\n";
    private static readonly string Transaction = Auth + "MAIL FROM:<a@contoso.com>\r\nRCPT TO:<b@fabrikam.com>\r\n";
    private static readonly string WrongLogin = SessionHarness.B64($"\0{FakeSenderClient.Username}\0wrong");

    /// <summary>Replies that need a socket, TLS or a clock, with the test that shows each one.</summary>
    private static readonly Dictionary<string, string> CoveredElsewhere = new()
    {
        [nameof(SmtpReplies.AlreadySecure)] = "Relay.EndToEnd.Tests.TlsEndToEndTests.CommandsPipelinedBehindStartTlsAreDiscardedNotRunInsideTls",
        [nameof(SmtpReplies.ConnectionNotAllowed)] = "Relay.EndToEnd.Tests.SmtpHostingTests.AClientOutsideTheAllowedNetworksIsTurnedAwayWith554",
        [nameof(SmtpReplies.TooManyConnections)] = "Relay.EndToEnd.Tests.SmtpHostingTests.OneConnectionOverTheLimitHears421AndTheNextAfterARelease220",
        [nameof(SmtpReplies.AuthServiceUnavailable)] = "Relay.EndToEnd.Tests.PickupEndToEndTests.AnUnreachableSenderMeansTryAgainLaterNeverAcceptance",
        [nameof(SmtpReplies.InternalError)] = "Relay.Smtp.Tests.ConnectionHandlerTests.ABugInsideASessionIsAnswered421AndLoggedAsAnError",
        [nameof(SmtpReplies.Timeout)] = "Relay.Smtp.Tests.SessionLimitTests.AStalledMessageTimesOutAfterTheDataTimeout",
        [nameof(SmtpReplies.DataRateTooLow)] = "Relay.Smtp.Tests.SessionLimitTests.ContentTrickledBelowTheMinimumRateEndsTheSession",
        [nameof(SmtpReplies.SessionExpired)] = "Relay.Smtp.Tests.SessionLimitTests.ASessionPastItsLifetimeIsToldToReconnect",
    };

    private enum Setup { None, SenderUnreachable, Stopping, Certificate }

    /// <summary>A session that produces each reply: what the client sends, the options, and anything else it needs.</summary>
    private static readonly Dictionary<string, (string Input, Action<SmtpOptions>? Configure, Setup Setup)> Sessions = new()
    {
        [nameof(SmtpReplies.Greeting)] = ("", null, Setup.None),
        [nameof(SmtpReplies.AuthChallenge)] = ("EHLO x\r\nAUTH LOGIN\r\n", null, Setup.None),
        [nameof(SmtpReplies.Hello)] = ("HELO x\r\n", null, Setup.None),
        [nameof(SmtpReplies.Ok)] = ("NOOP\r\n", null, Setup.None),
        [nameof(SmtpReplies.SenderOk)] = (Transaction, null, Setup.None),
        [nameof(SmtpReplies.RecipientOk)] = (Transaction, null, Setup.None),
        [nameof(SmtpReplies.StartMailInput)] = (Transaction + "DATA\r\n", null, Setup.None),
        [nameof(SmtpReplies.Bye)] = ("QUIT\r\n", null, Setup.None),
        [nameof(SmtpReplies.CannotVerify)] = ("VRFY alice\r\n", null, Setup.None),
        [nameof(SmtpReplies.Help)] = ("HELP\r\n", null, Setup.None),
        [nameof(SmtpReplies.ReadyToStartTls)] = ("EHLO x\r\nSTARTTLS\r\n", null, Setup.Certificate),
        [nameof(SmtpReplies.ChunkReceived)] = (Transaction + "BDAT 3\r\nabc", null, Setup.None),
        [nameof(SmtpReplies.CommandUnrecognized)] = ("FOO\r\n", null, Setup.None),
        [nameof(SmtpReplies.LineTooLong)] = (new string('x', 600) + "\r\n", null, Setup.None),
        [nameof(SmtpReplies.NulInCommand)] = ("NOOP\0\r\n", null, Setup.None),
        [nameof(SmtpReplies.SyntaxError)] = ("HELO\r\n", null, Setup.None),
        [nameof(SmtpReplies.InvalidBase64)] = ("EHLO x\r\nAUTH PLAIN !!!\r\n", null, Setup.None),
        [nameof(SmtpReplies.AuthCancelled)] = ("EHLO x\r\nAUTH LOGIN\r\n*\r\n", null, Setup.None),
        [nameof(SmtpReplies.AuthLineTooLong)] = ("EHLO x\r\nAUTH LOGIN\r\n" + new string('A', 13000) + "\r\n", null, Setup.None),
        [nameof(SmtpReplies.AuthorizationIdentityMismatch)] = ($"EHLO x\r\nAUTH PLAIN {SessionHarness.B64($"boss\0{FakeSenderClient.Username}\0{FakeSenderClient.Password}")}\r\n", null, Setup.None),
        [nameof(SmtpReplies.BadSequence)] = ("MAIL FROM:<a@b.c>\r\n", null, Setup.None),
        [nameof(SmtpReplies.AlreadyAuthenticated)] = (Auth + $"AUTH PLAIN {SessionHarness.PlainLogin}\r\n", null, Setup.None),
        [nameof(SmtpReplies.UnknownAuthMechanism)] = ("EHLO x\r\nAUTH CRAM-MD5\r\n", null, Setup.None),
        [nameof(SmtpReplies.AuthenticationRequired)] = ("EHLO x\r\nMAIL FROM:<a@b.c>\r\n", null, Setup.None),
        [nameof(SmtpReplies.TlsRequired)] = (Auth + "MAIL FROM:<a@b.c>\r\n", o => o.Tls.RequireForMail = true, Setup.None),
        [nameof(SmtpReplies.EncryptionRequired)] = (Auth, o => o.Tls.RequireForAuth = true, Setup.None),
        [nameof(SmtpReplies.NonAsciiAddress)] = (Auth + "MAIL FROM:<jörg@b.c>\r\n", null, Setup.None),
        [nameof(SmtpReplies.BadSenderSyntax)] = (Auth + "MAIL FROM:<a b>\r\n", null, Setup.None),
        [nameof(SmtpReplies.BadRecipientSyntax)] = (Auth + "MAIL FROM:<a@b.c>\r\nRCPT TO:<bad>\r\n", null, Setup.None),
        [nameof(SmtpReplies.UnsupportedParameter)] = (Auth + "MAIL FROM:<a@b.c> XYZZY\r\n", null, Setup.None),
        [nameof(SmtpReplies.MessageTooBig)] = (Auth + "MAIL FROM:<a@b.c> SIZE=999999999\r\n", null, Setup.None),
        [nameof(SmtpReplies.TooManyRecipients)] = (Transaction + "RCPT TO:<c@fabrikam.com>\r\n", o => o.MaxRecipients = 1, Setup.None),
        [nameof(SmtpReplies.BareLineFeedRejected)] = (Transaction + "DATA\r\na\nb\r\n.\r\n", o => o.BareLineFeed = BareLineFeedHandling.Reject, Setup.None),
        [nameof(SmtpReplies.NulInContent)] = (Transaction + "DATA\r\na\0b\r\n.\r\n", null, Setup.None),
        [nameof(SmtpReplies.ContentLineTooLong)] = (Transaction + "DATA\r\n" + new string('x', 1200) + "\r\n.\r\n", null, Setup.None),
        [nameof(SmtpReplies.ServiceUnavailable)] = ("EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n",
            o => o.Anonymous.AllowedNetworks.Add("192.0.2.0/24"), Setup.SenderUnreachable),
        [nameof(SmtpReplies.TlsNotAvailable)] = ("EHLO x\r\nSTARTTLS\r\n", null, Setup.None),
        [nameof(SmtpReplies.TooManyErrors)] = (string.Concat(Enumerable.Repeat("FOO\r\n", 20)), null, Setup.None),
        [nameof(SmtpReplies.AuthLockedOut)] = ($"EHLO x\r\nAUTH PLAIN {WrongLogin}\r\n", o => o.AuthFailureLimit = 1, Setup.None),
        [nameof(SmtpReplies.ShuttingDown)] = ("NOOP\r\n", null, Setup.Stopping),
    };

    public static TheoryData<string> SessionReplies => new(Sessions.Keys);

    [Fact]
    public void EveryReplyIsCoveredHereOrByANamedTest()
    {
        var members = typeof(SmtpReplies).GetMembers(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m is PropertyInfo || m is MethodInfo { IsSpecialName: false })
            .Select(m => m.Name)
            .ToHashSet();

        Assert.Equal(members.Order(), Sessions.Keys.Concat(CoveredElsewhere.Keys).Order());
        foreach (var test in CoveredElsewhere.Values.Where(t => t.StartsWith("Relay.Smtp.Tests.", StringComparison.Ordinal)))
        {
            var type = typeof(ReplyCoverageTests).Assembly.GetType(test[..test.LastIndexOf('.')], throwOnError: true)!;
            Assert.NotNull(type.GetMethod(test[(test.LastIndexOf('.') + 1)..]));
        }
    }

    [Theory]
    [MemberData(nameof(SessionReplies))]
    public async Task TheSessionSendsTheReply(string name)
    {
        var expected = Expected(name);
        var (input, configure, setup) = Sessions[name];
        var sender = new FakeSenderClient { Unreachable = setup == Setup.SenderUnreachable };
        using var stopping = new CancellationTokenSource();
        if (setup == Setup.Stopping)
        {
            await stopping.CancelAsync();
        }
        var options = SessionHarness.Options(configure);
        using var certificate = setup == Setup.Certificate ? new TestCertificateFiles(options) : null;
        var server = certificate is null ? null : SessionHarness.Server(sender, options, certificate: certificate.Load(options));

        // The TLS handshake has no client and fails, which is all this needs: the 220 before it was sent.
        var output = await SessionHarness.RunAsync(input, Segmentation.Whole, sender, options, server: server, stopping: stopping.Token);

        var wanted = expected.EnhancedCode is null ? $"{expected.Code}" : $"{expected.Code} {expected.EnhancedCode}";
        Assert.Contains(wanted, SessionHarness.ReplyCodes(output));
    }

    private static SmtpReply Expected(string name)
    {
        var member = typeof(SmtpReplies).GetMember(name, BindingFlags.Public | BindingFlags.Static).Single();
        return member switch
        {
            PropertyInfo property => (SmtpReply)property.GetValue(null)!,
            MethodInfo method => (SmtpReply)method.Invoke(null, method.GetParameters()
                .Select(p => p.ParameterType == typeof(string) ? "x" : p.ParameterType == typeof(int) ? (object)1000 : 3L).ToArray())!,
            _ => throw new InvalidOperationException(name),
        };
    }
}
