using System.ComponentModel.DataAnnotations;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>Configuration section <c>KeyVault</c>: how the vault's secrets are kept current as configuration.</summary>
public sealed class KeyVaultConfigurationOptions
{
    public const string SectionName = "KeyVault";

    /// <summary>
    /// How often the vault is read again. 30 minutes is the interval of the usual practice of rotating a client secret
    /// with an overlap (the new secret is added in Entra and Key Vault well before the old one expires, which takes days
    /// or weeks), so half an hour puts a rotated value in service long before it matters, while a re-read costs a list and
    /// one GET per setting per replica, a tiny fraction of Key Vault's service limits. At least 1 second (tests), at most 1 day.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "KeyVault:RefreshInterval must be between 1 second and 1 day.")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMinutes(30);
}

public sealed class KeyVaultConfigurationOptionsValidator : DataAnnotationsOptionsValidator<KeyVaultConfigurationOptions>;

/// <summary>
/// How the configuration provider reaches the vault. Configuration is built before dependency injection, so the provider
/// has its own client; a host that runs somewhere other than Azure (or a test) supplies the identity and the transport here.
/// </summary>
public sealed class KeyVaultClientSettings
{
    /// <summary>The identity that reads the vault; <c>DefaultAzureCredential</c> when null (in Container Apps, the managed identity).</summary>
    public TokenCredential? Credential { get; set; }

    /// <summary>The HTTP transport; Azure.Core's default when null.</summary>
    public HttpPipelineTransport? Transport { get; set; }
}
