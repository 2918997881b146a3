using Relay.Sender.Identity;

namespace Relay.Sender.Tests.Identity;

public sealed class SenderPatternTests
{
    [Theory]
    [InlineData("printer@contoso.com", "printer@contoso.com")]
    [InlineData("printer@contoso.com", "PRINTER@Contoso.COM")]
    [InlineData("Printer@Contoso.com", "printer@contoso.com")]
    public void ExactAddressMatchesRegardlessOfCase(string pattern, string address)
    {
        Assert.True(SenderPattern.Matches([pattern], address));
    }

    [Theory]
    [InlineData("printer@contoso.com", "scanner@contoso.com")]
    [InlineData("printer@contoso.com", "printer@contoso.com.evil.com")]
    [InlineData("printer@contoso.com", "xprinter@contoso.com")]
    [InlineData("printer@contoso.com", "printer@contoso.co")]
    public void ExactAddressMatchesNoOtherAddress(string pattern, string address)
    {
        Assert.False(SenderPattern.Matches([pattern], address));
    }

    [Theory]
    [InlineData("a@contoso.com")]
    [InlineData("A@CONTOSO.COM")]
    [InlineData("first.last+tag@contoso.com")]
    public void DomainPatternMatchesEveryAddressOfThatDomain(string address)
    {
        Assert.True(SenderPattern.Matches(["*@contoso.com"], address));
    }

    [Theory]
    [InlineData("a@evilcontoso.com")]
    [InlineData("a@sub.contoso.com")]
    [InlineData("a@contoso.com.evil.com")]
    [InlineData("a@contoso.co")]
    [InlineData("contoso.com")]
    public void DomainPatternDoesNotMatchLookalikeOrSubDomains(string address)
    {
        Assert.False(SenderPattern.Matches(["*@contoso.com"], address));
    }

    [Fact]
    public void AnyOfSeveralPatternsMayMatch()
    {
        string[] patterns = ["printer@contoso.com", "*@fabrikam.com"];

        Assert.True(SenderPattern.Matches(patterns, "printer@contoso.com"));
        Assert.True(SenderPattern.Matches(patterns, "anyone@fabrikam.com"));
        Assert.False(SenderPattern.Matches(patterns, "anyone@contoso.com"));
    }

    [Fact]
    public void NoPatternsMatchNothing()
    {
        Assert.False(SenderPattern.Matches([], "printer@contoso.com"));
    }

    [Theory]
    [InlineData("printer@contoso.com", true)]
    [InlineData("*@contoso.com", true)]
    [InlineData("*@", false)]
    [InlineData("*@a@contoso.com", false)]
    [InlineData("contoso.com", false)]
    [InlineData("@contoso.com", false)]
    [InlineData("printer@", false)]
    [InlineData("printer @contoso.com", false)]
    [InlineData("", false)]
    public void IsValidAcceptsOnlyAddressesAndDomainPatterns(string pattern, bool valid)
    {
        Assert.Equal(valid, SenderPattern.IsValid(pattern));
    }
}
