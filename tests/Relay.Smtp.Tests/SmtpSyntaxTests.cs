using Relay.Smtp.Protocol;

namespace Relay.Smtp.Tests;

public class SmtpSyntaxTests
{
    [Theory]
    [InlineData("DATA", "DATA", "")]
    [InlineData("mail FROM:<a@b>", "MAIL", "FROM:<a@b>")]
    [InlineData("auth login", "AUTH", "login")]
    public void VerbsAreCaseInsensitive(string line, string verb, string argument)
    {
        Assert.True(SmtpCommandLine.TryParse(line, out var command));
        Assert.Equal(verb, command.Verb);
        Assert.Equal(argument, command.Argument);
    }

    [Theory]
    [InlineData("DATAX")]
    [InlineData("MAIL:FROM")]
    [InlineData("")]
    [InlineData("12 34")]
    [InlineData("STARTTLSX")]
    public void APrefixIsNotTheCommand(string line)
    {
        Assert.False(SmtpCommandLine.TryParse(line, out var command) && command.Verb is "DATA" or "MAIL" or "STARTTLS");
    }

    [Theory]
    [InlineData("FROM:<a@b.example>", "a@b.example")]
    [InlineData("FROM: <a@b.example>", "a@b.example")]
    [InlineData("from:a@b.example", "a@b.example")]
    [InlineData("FROM:<@relay.example:a@b.example>", "a@b.example")]
    [InlineData("FROM:<>", "")]
    public void SenderPathsParse(string argument, string address)
    {
        Assert.Equal(MailboxPathStatus.Ok, MailboxPath.TryParse(argument, "FROM", allowNull: true, out var path));
        Assert.Equal(address, path.Address);
    }

    [Fact]
    public void ParametersAreParsedByName()
    {
        Assert.Equal(MailboxPathStatus.Ok, MailboxPath.TryParse("FROM:<a@b.c> SIZE=1000 BODY=8BITMIME", "FROM", true, out var path));
        Assert.Equal("1000", path.Parameters["size"]);
        Assert.Equal("8BITMIME", path.Parameters["BODY"]);
    }

    [Theory]
    [InlineData("TO:<>", MailboxPathStatus.BadAddress)]
    [InlineData("TO:<no-at-sign>", MailboxPathStatus.BadAddress)]
    [InlineData("TO:<a@>", MailboxPathStatus.BadAddress)]
    [InlineData("TO:<a b@c.d>", MailboxPathStatus.BadAddress)]
    [InlineData("TO:<a@-bad-.com>", MailboxPathStatus.BadAddress)]
    [InlineData("TO:<a@b.c", MailboxPathStatus.BadAddress)]
    [InlineData("TOO:<a@b.c>", MailboxPathStatus.Syntax)]
    [InlineData("<a@b.c>", MailboxPathStatus.Syntax)]
    [InlineData("TO:<a@b.c>x", MailboxPathStatus.Syntax)]
    public void BadRecipientPathsAreRefused(string argument, MailboxPathStatus expected)
    {
        Assert.Equal(expected, MailboxPath.TryParse(argument, "TO", allowNull: false, out _));
    }

    [Fact]
    public void ThePathLimitOf256OctetsIsEnforced()
    {
        var address = new string('a', 64) + "@" + string.Join('.', Enumerable.Repeat(new string('b', 60), 4)) + ".com";

        Assert.Equal(MailboxPathStatus.BadAddress, MailboxPath.TryParse($"TO:<{address}>", "TO", false, out _));
    }

    [Fact]
    public void TheStateTableAllowsOnlyWhatRfc5321Allows()
    {
        Assert.False(SmtpStateTable.TryGetTransition(SmtpState.Connected, "MAIL", out _));
        Assert.False(SmtpStateTable.TryGetTransition(SmtpState.Greeted, "RCPT", out _));
        Assert.False(SmtpStateTable.TryGetTransition(SmtpState.MailGiven, "DATA", out _));
        Assert.False(SmtpStateTable.TryGetTransition(SmtpState.MailGiven, "AUTH", out _));
        Assert.True(SmtpStateTable.TryGetTransition(SmtpState.RecipientGiven, "DATA", out var afterData));
        Assert.Equal(SmtpState.Greeted, afterData);
        Assert.True(SmtpStateTable.TryGetTransition(SmtpState.RecipientGiven, "EHLO", out var afterEhlo));
        Assert.Equal(SmtpState.Greeted, afterEhlo);
        Assert.Equal("expected RCPT or DATA or BDAT", SmtpStateTable.For(SmtpState.RecipientGiven).ExpectedText);
        Assert.False(SmtpStateTable.TryGetTransition(SmtpState.Connected, "STARTTLS", out _));
        Assert.False(SmtpStateTable.TryGetTransition(SmtpState.MailGiven, "STARTTLS", out _));
        Assert.True(SmtpStateTable.TryGetTransition(SmtpState.Greeted, "STARTTLS", out var afterTls));
        Assert.Equal(SmtpState.Connected, afterTls);
        Assert.False(SmtpStateTable.TryGetTransition(SmtpState.Chunking, "DATA", out _));
        Assert.False(SmtpStateTable.TryGetTransition(SmtpState.Chunking, "RCPT", out _));
        Assert.True(SmtpStateTable.TryGetTransition(SmtpState.Chunking, "RSET", out var afterRset));
        Assert.Equal(SmtpState.Greeted, afterRset);
    }
}
