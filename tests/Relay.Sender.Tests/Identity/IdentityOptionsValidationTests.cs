using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Relay.Sender.Identity;

namespace Relay.Sender.Tests.Identity;

public sealed class IdentityOptionsValidationTests
{
    private static readonly string ValidHash = PasswordHash.Create("printer-password", PasswordHash.MinimumIterations).ToString();

    private static IdentityOptions ValidOptions() => new()
    {
        Accounts =
        {
            ["printer"] = new RelayAccountOptions
            {
                PasswordHash = ValidHash,
                AllowedSenders = ["printer@contoso.com", "*@scans.contoso.com"],
                Mailbox = "printer@contoso.com",
            },
        },
        AnonymousAccount = "printer",
    };

    private static ValidateOptionsResult Validate(IdentityOptions options) =>
        new IdentityOptionsValidator().Validate(Options.DefaultName, options);

    /// <summary>The one failure that names <paramref name="key"/>; the validation must have failed.</summary>
    private static string FailureNaming(ValidateOptionsResult result, string key)
    {
        Assert.True(result.Failed);
        return Assert.Single(result.Failures!.Distinct(), f => f.Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public void ValidAccountPassesValidation()
    {
        var result = Validate(ValidOptions());

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void NoAccountsAtAllPassesValidation()
    {
        Assert.True(Validate(new IdentityOptions()).Succeeded);
    }

    [Theory]
    [InlineData("")]
    [InlineData("hunter2")]
    [InlineData("pbkdf2-sha256$1000$AAECAwQFBgcICQoLDA0ODw==$SdScJfWXhGIJ8Nkud3CrZOHHXpS0zmxQkmXuZxddKh4=")]
    public void InvalidPasswordHashIsRefusedNamingItsConfigurationKey(string hash)
    {
        var options = ValidOptions();
        options.Accounts["printer"].PasswordHash = hash;

        var result = Validate(options);

        var failure = FailureNaming(result, "Identity:Accounts:printer:PasswordHash");
        Assert.Contains("hash-password", failure);
    }

    [Fact]
    public void PlaintextPasswordInTheHashFieldIsNotEchoedInTheFailure()
    {
        var options = ValidOptions();
        options.Accounts["printer"].PasswordHash = "S3cret-Plaintext!";

        var result = Validate(options);

        Assert.True(result.Failed);
        Assert.DoesNotContain("S3cret-Plaintext!", result.FailureMessage);
    }

    [Fact]
    public void AccountWithoutAllowedSendersIsRefusedNamingItsConfigurationKey()
    {
        var options = ValidOptions();
        options.Accounts["printer"].AllowedSenders = [];

        var result = Validate(options);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains("Identity:Accounts:printer:AllowedSenders", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("printer")]
    [InlineData("contoso.com")]
    [InlineData("@contoso.com")]
    [InlineData("*@")]
    [InlineData("*@a@contoso.com")]
    [InlineData("printer @contoso.com")]
    public void MalformedSenderPatternIsRefusedNamingItsConfigurationKeyAndTheEntry(string pattern)
    {
        var options = ValidOptions();
        options.Accounts["printer"].AllowedSenders = ["printer@contoso.com", pattern];

        var result = Validate(options);

        var failure = FailureNaming(result, "Identity:Accounts:printer:AllowedSenders");
        Assert.Contains($"'{pattern}'", failure);
    }

    [Fact]
    public void MailboxThatIsNotAnAddressIsRefusedNamingItsConfigurationKey()
    {
        var options = ValidOptions();
        options.Accounts["printer"].Mailbox = "printer";

        var result = Validate(options);

        FailureNaming(result, "Identity:Accounts:printer:Mailbox");
    }

    [Fact]
    public void AnonymousAccountThatIsNotConfiguredIsRefusedNamingItsConfigurationKey()
    {
        var options = ValidOptions();
        options.AnonymousAccount = "scanner";

        var result = Validate(options);

        var failure = FailureNaming(result, "Identity:AnonymousAccount");
        Assert.Contains("'scanner'", failure);
    }

    [Fact]
    public void EachProblemIsReportedOnce()
    {
        var options = ValidOptions();
        options.AnonymousAccount = "scanner";

        var result = Validate(options);

        Assert.True(result.Failed);
        Assert.Single(result.Failures!);
    }

    [Fact]
    public void EveryProblemOfEveryAccountIsReportedAtOnce()
    {
        var options = ValidOptions();
        options.Accounts["scanner"] = new RelayAccountOptions { PasswordHash = "nope", AllowedSenders = [] };
        options.Accounts["printer"].AllowedSenders = ["bad pattern"];

        var result = Validate(options);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains("Identity:Accounts:scanner:PasswordHash", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("Identity:Accounts:scanner:AllowedSenders", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("Identity:Accounts:printer:AllowedSenders", StringComparison.Ordinal));
    }

    [Fact]
    public void OptionsBoundFromConfigurationMatchTheAnonymousAccountRegardlessOfCase()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Identity:Accounts:Printer:PasswordHash"] = ValidHash,
                ["Identity:Accounts:Printer:AllowedSenders:0"] = "printer@contoso.com",
                ["Identity:AnonymousAccount"] = "printer",
            })
            .Build();
        var options = configuration.GetSection(IdentityOptions.SectionName).Get<IdentityOptions>()!;

        var result = Validate(options);

        Assert.True(result.Succeeded, result.FailureMessage);
    }
}
