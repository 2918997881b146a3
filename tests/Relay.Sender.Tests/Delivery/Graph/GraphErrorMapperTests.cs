using Relay.Sender.Delivery.Graph;

namespace Relay.Sender.Tests.Delivery.Graph;

public sealed class GraphErrorMapperTests
{
    [Theory]
    // Transient: the client must retry.
    [InlineData(429, null, 451, "4.4.2")]
    [InlineData(429, "ApplicationThrottled", 451, "4.4.2")]
    [InlineData(503, null, 451, "4.4.2")]
    [InlineData(504, null, 451, "4.4.2")]
    [InlineData(500, null, 451, "4.4.2")]
    [InlineData(500, "generalException", 451, "4.4.2")]
    [InlineData(401, null, 451, "4.7.0")]
    [InlineData(401, "InvalidAuthenticationToken", 451, "4.7.0")]
    // Sender authorization.
    [InlineData(403, "ErrorSendAsDenied", 550, "5.7.1")]
    [InlineData(403, "ErrorAccessDenied", 550, "5.7.1")]
    // Recipients.
    [InlineData(400, "ErrorInvalidRecipients", 550, "5.1.1")]
    [InlineData(400, "ErrorMissingRecipients", 550, "5.1.1")]
    // Size.
    [InlineData(413, null, 552, "5.3.4")]
    [InlineData(400, "ErrorMessageSizeExceeded", 552, "5.3.4")]
    // Quotas: temporary.
    [InlineData(403, "ErrorQuotaExceeded", 452, "4.2.2")]
    [InlineData(403, "ErrorSubmissionQuotaExceeded", 452, "4.5.3")]
    [InlineData(429, "ErrorSubmissionQuotaExceeded", 452, "4.5.3")]
    // MIME.
    [InlineData(400, "ErrorMimeContentInvalid", 554, "5.6.0")]
    [InlineData(400, "ErrorMimeContentInvalidBase64String", 554, "5.6.0")]
    // Mailbox.
    [InlineData(404, "MailboxNotEnabledForRESTAPI", 550, "5.1.8")]
    [InlineData(404, "ErrorNonExistentMailbox", 550, "5.1.8")]
    [InlineData(404, "ResourceNotFound", 550, "5.1.8")]
    [InlineData(404, null, 550, "5.1.8")]
    [InlineData(400, "MailboxNotEnabledForRESTAPI", 550, "5.1.8")]
    public void GraphOutcomeMapsToTheDesignedSmtpReply(int status, string? code, int expectedCode, string expectedEnhanced)
    {
        var reply = GraphErrorMapper.Map(status, code);

        Assert.Equal(expectedCode, reply.Code);
        Assert.Equal(expectedEnhanced, reply.EnhancedCode);
        Assert.False(string.IsNullOrWhiteSpace(reply.Text));
    }

    [Theory]
    [InlineData(400, null)]
    [InlineData(400, "ErrorInvalidRequest")]
    [InlineData(400, "SomethingMicrosoftAddsNextYear")]
    [InlineData(403, null)]
    public void UnknownRefusalIsPermanent(int status, string? code)
    {
        var reply = GraphErrorMapper.Map(status, code);

        Assert.InRange(reply.Code, 500, 599);
        Assert.StartsWith("5.", reply.EnhancedCode);
    }

    [Fact]
    public void UnknownRefusalNamesTheGraphCodeForTheLogReader()
    {
        Assert.Contains("ErrorInvalidRequest", GraphErrorMapper.Map(400, "ErrorInvalidRequest").Text);
        Assert.Contains("400", GraphErrorMapper.Map(400, null).Text);
    }

    [Fact]
    public void NoResponseIsTransient()
    {
        Assert.Equal(451, GraphErrorMapper.NoResponse.Code);
        Assert.Equal("4.4.2", GraphErrorMapper.NoResponse.EnhancedCode);
    }

    [Fact]
    public void TokenUnavailableIs454()
    {
        Assert.Equal(454, GraphErrorMapper.TokenUnavailable.Code);
        Assert.Equal("4.7.0", GraphErrorMapper.TokenUnavailable.EnhancedCode);
    }
}
