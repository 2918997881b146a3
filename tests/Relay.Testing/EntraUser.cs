namespace Relay.Testing;

/// <summary>A user account in one tenant, for the password (ROPC) grant.</summary>
/// <param name="TenantId">The tenant, as registered.</param>
/// <param name="UserPrincipalName">The UPN, compared case-insensitively.</param>
/// <param name="Password">The password, compared exactly.</param>
/// <param name="Block">Why a sign-in with the right password is still refused, if it is.</param>
/// <param name="ObjectId">The user's object ID (<c>oid</c>), stable across re-registrations.</param>
internal sealed record EntraUser(string TenantId, string UserPrincipalName, string Password, UserSignInBlock Block, string ObjectId)
{
    /// <summary>The display name Entra would put in <c>name</c>: here the UPN's local part.</summary>
    public string DisplayName => UserPrincipalName.Split('@')[0];
}
