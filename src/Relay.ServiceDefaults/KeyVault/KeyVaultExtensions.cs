using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Key Vault access shared by Relay's services: the vault from <c>ConnectionStrings:secrets</c>, the identity Relay
/// reads it with, and a <see cref="SecretClient"/> on a factory-managed HttpClient.
/// </summary>
public static class KeyVaultExtensions
{
    /// <summary>Name of the Key Vault resource in the AppHost, and so of its connection string.</summary>
    public const string ConnectionName = "secrets";

    /// <summary>Named HttpClient that carries Key Vault requests (no resilience handler: Azure.Core retries on its own).</summary>
    public const string HttpClientName = "keyvault";

    /// <summary>
    /// Registers <see cref="KeyVaultOptions"/> (validated at start-up), a <see cref="TokenCredential"/> unless one is
    /// already registered, and a <see cref="SecretClient"/> for the vault. Nothing talks to the vault until a
    /// <see cref="SecretClient"/> is used; resolving it without a configured vault throws, naming the key.
    /// </summary>
    public static TBuilder AddRelayKeyVault<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var services = builder.Services;
        services.AddOptions<KeyVaultOptions>()
            .Configure<IConfiguration>((options, configuration) => options.VaultUri = configuration.GetConnectionString(ConnectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KeyVaultOptions>, KeyVaultOptionsValidator>());

#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental; it is the documented way to opt out.
        services.AddHttpClient(HttpClientName).RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001

        // In Azure Container Apps this is the app's managed identity (the AppHost sets AZURE_CLIENT_ID and
        // AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential); on a developer machine, the Azure CLI or Visual Studio login.
        // Registered with TryAdd so a host (or a test) can supply its own credential.
        services.TryAddSingleton<TokenCredential>(_ => new DefaultAzureCredential());

        services.TryAddSingleton(provider =>
        {
            var vault = provider.GetRequiredService<IOptions<KeyVaultOptions>>().Value;
            var uri = vault.Uri ?? throw new InvalidOperationException(vault.IsConfigured
                ? $"{KeyVaultOptions.ConfigurationKey} '{vault.VaultUri}' is not a Key Vault URI."
                : $"Key Vault is not configured: set {KeyVaultOptions.ConfigurationKey} to the vault URI (https://NAME.vault.azure.net/).");
            var options = new SecretClientOptions
            {
                Transport = new HttpClientTransport(provider.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName)),
            };
            return new SecretClient(uri, provider.GetRequiredService<TokenCredential>(), options);
        });
        return builder;
    }
}
