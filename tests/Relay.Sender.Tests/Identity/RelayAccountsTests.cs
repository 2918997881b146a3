using Microsoft.Extensions.Options;
using Relay.Sender.Identity;

namespace Relay.Sender.Tests.Identity;

public sealed class RelayAccountsTests
{
    private const string PrinterPassword = "Pr1nter-Passw0rd";
    private const string ScannerPassword = "sc4nner secret";

    private static readonly string PrinterHash = PasswordHash.Create(PrinterPassword, PasswordHash.MinimumIterations).ToString();
    private static readonly string ScannerHash = PasswordHash.Create(ScannerPassword, PasswordHash.MinimumIterations).ToString();

    private static RelayAccounts Accounts(string? anonymousAccount = null) => new(Options.Create(new IdentityOptions
    {
        Accounts =
        {
            ["printer"] = new RelayAccountOptions
            {
                PasswordHash = PrinterHash,
                AllowedSenders = ["printer@contoso.com"],
                Mailbox = "printer@contoso.com",
            },
            ["scanner"] = new RelayAccountOptions
            {
                PasswordHash = ScannerHash,
                AllowedSenders = ["*@contoso.com"],
                Mailbox = "  ",
            },
        },
        AnonymousAccount = anonymousAccount,
    }));

    [Fact]
    public void RightPasswordVerifiesAndYieldsTheAccountsPrincipal()
    {
        var principal = Accounts().Verify("printer", PrinterPassword);

        Assert.NotNull(principal);
        Assert.Equal("printer", principal.Name);
        Assert.Equal(["printer@contoso.com"], principal.AllowedSenders);
        Assert.Equal("printer@contoso.com", principal.Mailbox);
    }

    [Fact]
    public void BlankMailboxMeansNoFixedMailbox()
    {
        var principal = Accounts().Verify("scanner", ScannerPassword);

        Assert.NotNull(principal);
        Assert.Null(principal.Mailbox);
    }

    [Theory]
    [InlineData("pr1nter-passw0rd")]
    [InlineData("Pr1nter-Passw0rd ")]
    [InlineData(ScannerPassword)]
    [InlineData("")]
    public void WrongPasswordDoesNotVerify(string password)
    {
        Assert.Null(Accounts().Verify("printer", password));
    }

    [Fact]
    public void EmptyPasswordNeverVerifiesEvenWhenTheHashIsOfTheEmptyPassword()
    {
        var accounts = new RelayAccounts(Options.Create(new IdentityOptions
        {
            Accounts = { ["blank"] = new RelayAccountOptions { PasswordHash = PasswordHash.Create("", PasswordHash.MinimumIterations).ToString(), AllowedSenders = ["*@contoso.com"] } },
        }));

        Assert.Null(accounts.Verify("blank", ""));
    }

    [Theory]
    [InlineData("nobody")]
    [InlineData("")]
    [InlineData("printer@contoso.com")]
    public void UnknownLoginDoesNotVerifyEvenWithAnotherAccountsPassword(string username)
    {
        Assert.Null(Accounts().Verify(username, PrinterPassword));
    }

    [Theory]
    [InlineData("PRINTER")]
    [InlineData("Printer")]
    public void LoginNamesAreCaseInsensitive(string username)
    {
        var principal = Accounts().Verify(username, PrinterPassword);

        Assert.NotNull(principal);
        Assert.Equal("printer", principal.Name);
    }

    [Fact]
    public void EmptyIdentityResolvesToTheAnonymousAccount()
    {
        var principal = Accounts(anonymousAccount: "Scanner").Resolve("");

        Assert.NotNull(principal);
        Assert.Equal("scanner", principal.Name);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" ")]
    public void EmptyIdentityResolvesToNothingWithoutAnAnonymousAccount(string? anonymousAccount)
    {
        Assert.Null(Accounts(anonymousAccount).Resolve(""));
    }

    [Fact]
    public void AuthenticatedIdentityResolvesToItsAccountRegardlessOfCase()
    {
        var principal = Accounts(anonymousAccount: "scanner").Resolve("PRINTER");

        Assert.NotNull(principal);
        Assert.Equal("printer", principal.Name);
    }

    [Fact]
    public void IdentityOfAnAccountThatNoLongerExistsResolvesToNothing()
    {
        Assert.Null(Accounts(anonymousAccount: "scanner").Resolve("nobody"));
    }

    [Fact]
    public void CountIsTheNumberOfConfiguredAccounts()
    {
        Assert.Equal(2, Accounts().Count);
    }
}
