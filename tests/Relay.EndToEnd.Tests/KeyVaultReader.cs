using Azure.Core.Pipeline;
using Azure.Identity;
using Microsoft.Extensions.Hosting;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// The identity Relay reads the fake vault with (in Azure: the app's managed identity): an app registered in the vault's
/// tenant, signing in to the fake Entra over a transport that trusts the fake cloud's certificate.
/// </summary>
internal static class KeyVaultReader
{
    public const string ClientId = "44444444-4444-4444-4444-444444444444";
    public const string ClientSecret = "key-vault-reader-secret-value";

    /// <summary>Registers the reader app in the vault's tenant and returns a credential for it.</summary>
    public static ClientSecretCredential Register(FakeMicrosoftCloud cloud)
    {
        cloud.RegisterApp(cloud.KeyVaultTenantId, ClientId, ClientSecret);
        return new ClientSecretCredential(cloud.KeyVaultTenantId, ClientId, ClientSecret, new ClientSecretCredentialOptions
        {
            AuthorityHost = cloud.AuthorityHost,
            DisableInstanceDiscovery = true,
            Transport = new HttpClientTransport(cloud.CreateTrustingHandler()),
        });
    }

    /// <summary>How the Key Vault configuration source reaches the fake vault: <paramref name="credential"/> and a trusting transport.</summary>
    public static Action<KeyVaultClientSettings> Settings(FakeMicrosoftCloud cloud, ClientSecretCredential? credential = null)
    {
        credential ??= Register(cloud);
        return settings =>
        {
            settings.Credential = credential;
            settings.Transport = new HttpClientTransport(cloud.CreateTrustingHandler());
        };
    }
}
