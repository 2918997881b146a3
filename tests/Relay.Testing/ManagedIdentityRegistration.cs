namespace Relay.Testing;

/// <summary>A managed identity the fake's managed-identity endpoint issues tokens for (see <see cref="FakeMicrosoftCloud.RegisterManagedIdentity"/>).</summary>
/// <param name="TenantId">The tenant its tokens are issued in.</param>
/// <param name="ClientId">Its client (application) ID: the <c>client_id</c> query parameter, and the app ID Graph sees.</param>
/// <param name="ObjectId">Its object (principal) ID: the <c>object_id</c> or <c>principal_id</c> query parameter.</param>
/// <param name="ResourceId">
/// Its ARM resource ID, the <c>mi_res_id</c> query parameter, for a user-assigned identity; null for the system-assigned one.
/// </param>
/// <param name="SystemAssigned">Whether it is the host's system-assigned identity, the one a request that names no identity gets.</param>
public sealed record ManagedIdentityRegistration(string TenantId, string ClientId, string ObjectId, string? ResourceId, bool SystemAssigned);
