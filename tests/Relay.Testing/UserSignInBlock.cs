namespace Relay.Testing;

/// <summary>
/// Why Entra refuses a user's password sign-in (ROPC) even when the password is right, with the AADSTS code it answers
/// with. Set with <see cref="FakeMicrosoftCloud.RegisterUser"/>.
/// </summary>
public enum UserSignInBlock
{
    /// <summary>The user signs in normally.</summary>
    None,

    /// <summary>MFA is required, which ROPC cannot satisfy: 400 <c>invalid_grant</c> AADSTS50076, suberror <c>basic_action</c>.</summary>
    MfaRequired,

    /// <summary>A Conditional Access policy blocks token issuance: 400 <c>invalid_grant</c> AADSTS53003, suberror <c>message_only</c>.</summary>
    ConditionalAccessBlocked,

    /// <summary>The password has expired: 400 <c>user_password_expired</c> AADSTS50055, suberror <c>user_password_expired</c>.</summary>
    PasswordExpired,

    /// <summary>The account is disabled: 400 <c>invalid_grant</c> AADSTS50057, whatever password is sent.</summary>
    Disabled,

    /// <summary>The account is locked after too many failed sign-ins: 400 <c>invalid_grant</c> AADSTS50053, whatever password is sent.</summary>
    Locked,
}
