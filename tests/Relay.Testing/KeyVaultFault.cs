namespace Relay.Testing;

/// <summary>A Key Vault error the fake returns instead of the secret: <c>{"error":{"code","message"}}</c>.</summary>
/// <param name="StatusCode">The HTTP status code.</param>
/// <param name="Code">The <c>error.code</c> of the Key Vault error body.</param>
/// <param name="Message">The <c>error.message</c> of the Key Vault error body.</param>
public sealed record KeyVaultFault(int StatusCode, string Code, string Message)
{
    /// <summary>403 <c>Forbidden</c> / <c>ForbiddenByRbac</c>: the caller's role assignment on the vault is gone.</summary>
    public static KeyVaultFault ForbiddenByRbac() =>
        new(403, "Forbidden", "Caller is not authorized to perform action on resource. Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'. Inner error code: ForbiddenByRbac");
}
