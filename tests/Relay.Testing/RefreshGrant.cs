namespace Relay.Testing;

/// <summary>A refresh token the fake issued with a delegated token; it is revoked when the user's password changes.</summary>
/// <param name="TenantId">The tenant it was issued in.</param>
/// <param name="ClientId">The client it was issued to; only that client may redeem it.</param>
/// <param name="UserPrincipalName">The signed-in user.</param>
/// <param name="Password">The user's password when it was issued.</param>
internal sealed record RefreshGrant(string TenantId, string ClientId, string UserPrincipalName, string Password);
