using Relay.Contracts;
using Relay.Sender.Delivery;

namespace Relay.Sender.Identity;

/// <summary>The verdict on one SMTP login: a principal, or why not.</summary>
public sealed record LoginResult(RelayPrincipal? Principal, LoginFailure? Failure)
{
    /// <summary>Wrong name or password for a Relay account, or a name no kind of login recognises.</summary>
    public static LoginResult InvalidCredentials { get; } =
        new(null, new LoginFailure(Replies.AuthFailed, "credentials", null));

    public static LoginResult Succeeded(RelayPrincipal principal) => new(principal, null);

    public static LoginResult Failed(LoginFailure failure) => new(null, failure);

    /// <summary>A refusal Relay decides itself, before asking Entra.</summary>
    public static LoginResult Refused(string why) =>
        new(null, new LoginFailure(Replies.Create(535, "5.7.8", $"Authentication failed: {why}"), "policy", null));

    public SmtpReply Reply => Failure?.Reply ?? Replies.AuthSucceeded;
}
