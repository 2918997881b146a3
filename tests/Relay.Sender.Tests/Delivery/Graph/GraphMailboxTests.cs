using Relay.Sender.Delivery.Graph;

namespace Relay.Sender.Tests.Delivery.Graph;

public sealed class GraphMailboxTests
{
    [Theory]
    [InlineData("scanner@contoso.com")]
    [InlineData("o'brien@contoso.com")]
    [InlineData("scan+dept@contoso.com")]
    [InlineData("a.b-c_d@mail.contoso.co.uk")]
    [InlineData("!#$%&'*+-/=?^_`{|}~@contoso.com")]
    [InlineData("jörg@bücher.de")]
    [InlineData("scanner@xn--bcher-kva.de")]
    public void MailboxAddressesAreValid(string address)
    {
        Assert.True(GraphMailbox.IsValid(address));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("<>")]
    [InlineData("scanner")]
    [InlineData("@contoso.com")]
    [InlineData("scanner@")]
    [InlineData("scanner@localhost")]
    [InlineData("scanner@[192.0.2.7]")]
    [InlineData("\"scan ner\"@contoso.com")]
    [InlineData("scan ner@contoso.com")]
    [InlineData(".scanner@contoso.com")]
    [InlineData("scanner.@contoso.com")]
    [InlineData("scan..ner@contoso.com")]
    [InlineData("scanner@contoso..com")]
    [InlineData("scanner@-contoso.com")]
    [InlineData("scanner@contoso_x.com")]
    [InlineData("scan(ner)@contoso.com")]
    [InlineData("scan<ner@contoso.com")]
    [InlineData("scan\r\nner@contoso.com")]
    [InlineData("scan@ner@contoso.com")]
    [InlineData("a@b.c/../../me")]
    public void AnythingElseIsNot(string? address)
    {
        Assert.False(GraphMailbox.IsValid(address));
    }

    [Fact]
    public void LocalPartAndDomainLengthsFollowRfc5321()
    {
        Assert.True(GraphMailbox.IsValid(new string('a', 64) + "@contoso.com"));
        Assert.False(GraphMailbox.IsValid(new string('a', 65) + "@contoso.com"));
        Assert.False(GraphMailbox.IsValid("a@" + new string('b', 64) + ".com"));
    }
}
