using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Where Relay's Key Vault is: the connection string <c>secrets</c>, which the AppHost injects as
/// <c>ConnectionStrings__secrets=https://NAME.vault.azure.net/</c> (Aspire's <c>WithReference(vault)</c>).
/// </summary>
public sealed partial class KeyVaultOptions
{
    /// <summary>The configuration key, as error messages name it.</summary>
    public const string ConfigurationKey = "ConnectionStrings:" + KeyVaultExtensions.ConnectionName;

    /// <summary>The vault URI as configured; unset when the service runs without Key Vault.</summary>
    public string? VaultUri { get; set; }

    public bool IsConfigured => !string.IsNullOrWhiteSpace(VaultUri);

    /// <summary>The vault URI when it is a usable one (absolute, https, nothing but scheme, host and port).</summary>
    public Uri? Uri =>
        System.Uri.TryCreate(VaultUri?.Trim(), UriKind.Absolute, out var uri) && uri.Scheme == System.Uri.UriSchemeHttps
        && string.IsNullOrEmpty(uri.UserInfo) && uri.AbsolutePath == "/" && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment)
            ? uri
            : null;

    /// <summary>Whether a name can be a Key Vault secret or certificate name: 1–127 characters, <c>0-9a-zA-Z-</c> (Key Vault's "About keys, secrets and certificates").</summary>
    public static bool IsObjectName(string name) => ObjectName().IsMatch(name);

    [GeneratedRegex("^[0-9A-Za-z-]{1,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex ObjectName();
}

/// <summary>An unset vault is fine (nothing then reads from it); a set one must be a vault URI.</summary>
public sealed class KeyVaultOptionsValidator : IValidateOptions<KeyVaultOptions>
{
    public ValidateOptionsResult Validate(string? name, KeyVaultOptions options) =>
        !options.IsConfigured || options.Uri is not null
            ? ValidateOptionsResult.Success
            // The URI names a vault, not a secret: it is not sensitive and the operator needs to see what is wrong with it.
            : ValidateOptionsResult.Fail(
                $"{KeyVaultOptions.ConfigurationKey} '{options.VaultUri}' is not a Key Vault URI such as https://NAME.vault.azure.net/ (https, no path).");
}
