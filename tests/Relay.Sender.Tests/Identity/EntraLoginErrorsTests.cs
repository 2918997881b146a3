using Azure.Identity;
using Microsoft.Identity.Client;
using Relay.Sender.Identity;

namespace Relay.Sender.Tests.Identity;

public sealed class EntraLoginErrorsTests
{
    /// <summary>What Azure.Identity throws when Entra refuses: MSAL's exception, carrying Entra's error_description, inside.</summary>
    private static AuthenticationFailedException Refusal(string error, int status, int aadsts, string description) =>
        new($"ClientSecretCredential authentication failed: AADSTS{aadsts}: {description}",
            new MsalServiceException(error, $"AADSTS{aadsts}: {description}\r\nTrace ID: 00000000-0000-0000-0000-000000000000", status, innerException: null));

    [Theory]
    [InlineData("invalid_client", 401, 7000215, "Invalid client secret provided.", "client secret is wrong")]
    [InlineData("invalid_client", 401, 7000222, "The provided client secret keys for app are expired.", "expired")]
    [InlineData("unauthorized_client", 400, 700016, "Application was not found in the directory.", "not registered in that tenant")]
    [InlineData("invalid_request", 400, 90002, "Tenant not found.", "tenant does not exist")]
    [InlineData("invalid_grant", 400, 50126, "Error validating credentials due to invalid username or password.", "user name or password is wrong")]
    [InlineData("invalid_grant", 400, 50034, "The user account does not exist.", "user name or password is wrong")]
    [InlineData("invalid_grant", 400, 50055, "The password is expired.", "password has expired")]
    [InlineData("invalid_grant", 400, 50057, "The user account is disabled.", "disabled")]
    [InlineData("invalid_grant", 400, 50053, "The account is locked.", "locked")]
    [InlineData("invalid_grant", 400, 65001, "The user or administrator has not consented.", "not granted")]
    public void CredentialAndConfigurationProblemsAre535WithTheReason(string error, int status, int aadsts, string description, string reason)
    {
        var failure = EntraLoginErrors.Classify(Refusal(error, status, aadsts, description));

        Assert.Equal(535, failure.Reply.Code);
        Assert.Equal("5.7.8", failure.Reply.EnhancedCode);
        Assert.Contains(reason, failure.Reply.Text);
        Assert.Contains($"AADSTS{aadsts}", failure.Reply.Text);
        Assert.Equal(aadsts, failure.AadstsCode);
        Assert.False(failure.IsTransient);
    }

    [Fact]
    public void UnknownUserAndWrongPasswordReadTheSameSoUsersCannotBeDiscovered()
    {
        var unknown = EntraLoginErrors.Classify(Refusal("invalid_grant", 400, 50034, "The user account does not exist."));
        var wrong = EntraLoginErrors.Classify(Refusal("invalid_grant", 400, 50126, "Invalid username or password."));

        Assert.Equal(wrong.Reply.Text.Replace("50126", "CODE"), unknown.Reply.Text.Replace("50034", "CODE"));
    }

    [Theory]
    [InlineData(50076, "multi-factor")]
    [InlineData(50079, "multi-factor")]
    [InlineData(53003, "Conditional Access")]
    [InlineData(530035, "security defaults")]
    public void MfaAndConditionalAccessAre534BecauseAPasswordAloneWillNeverDo(int aadsts, string reason)
    {
        var failure = EntraLoginErrors.Classify(Refusal("invalid_grant", 400, aadsts, "Blocked."));

        Assert.Equal(534, failure.Reply.Code);
        Assert.Equal("5.7.9", failure.Reply.EnhancedCode);
        Assert.Contains(reason, failure.Reply.Text);
    }

    [Theory]
    [InlineData("temporarily_unavailable", 400, 90033)]
    [InlineData("invalid_request", 400, 50196)]
    public void TemporaryEntraConditionsAre454(string error, int status, int aadsts)
    {
        var failure = EntraLoginErrors.Classify(Refusal(error, status, aadsts, "Try again."));

        Assert.Equal(454, failure.Reply.Code);
        Assert.Equal("4.7.0", failure.Reply.EnhancedCode);
        Assert.True(failure.IsTransient);
    }

    [Fact]
    public void AnEntraOutageWithoutACodeIs454()
    {
        var outage = new AuthenticationFailedException("ClientSecretCredential authentication failed: Service unavailable",
            new MsalServiceException("service_not_available", "Service is unavailable to process the request", 503, innerException: null));

        Assert.Equal(454, EntraLoginErrors.Classify(outage).Reply.Code);
    }

    [Fact]
    public void ANetworkFailureIs454() =>
        Assert.Equal(454, EntraLoginErrors.Classify(new HttpRequestException("Connection refused")).Reply.Code);

    [Fact]
    public void AnUnknownRefusalIsStill535AndNamesItsCode()
    {
        var failure = EntraLoginErrors.Classify(Refusal("invalid_request", 400, 9999999, "Something new."));

        Assert.Equal(535, failure.Reply.Code);
        Assert.Contains("AADSTS9999999", failure.Reply.Text);
    }
}
