using Azure.Core;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>The vault of <c>ConnectionStrings:secrets</c> as a configuration source for Relay's services.</summary>
public static class KeyVaultConfigurationExtensions
{
    /// <summary>
    /// When <c>ConnectionStrings:secrets</c> is set, reads every setting in the vault into configuration now (a vault that
    /// cannot be read stops start-up, naming the key) and keeps it current every <c>KeyVault:RefreshInterval</c>. Without
    /// the connection string, does nothing.
    /// </summary>
    /// <remarks>
    /// The source is added after the sources already there, so call it after them: vault values then win over
    /// appsettings, user secrets, environment variables and the command line — the standard ASP.NET Core arrangement,
    /// which makes the vault the one place where a secret is set.
    /// </remarks>
    /// <param name="builder">The host builder.</param>
    /// <param name="configure">Supplies the identity and transport; <c>DefaultAzureCredential</c> and the default transport otherwise.</param>
    public static TBuilder AddRelayKeyVaultConfiguration<TBuilder>(this TBuilder builder, Action<KeyVaultClientSettings>? configure = null)
        where TBuilder : IHostApplicationBuilder
    {
        var vault = new KeyVaultOptions { VaultUri = builder.Configuration.GetConnectionString(KeyVaultExtensions.ConnectionName) };
        if (!vault.IsConfigured)
        {
            return builder;
        }
        var validation = new KeyVaultOptionsValidator().Validate(Options.Options.DefaultName, vault);
        if (validation.Failed)
        {
            throw new OptionsValidationException(Options.Options.DefaultName, typeof(KeyVaultOptions), validation.Failures);
        }

        var settings = new KeyVaultClientSettings();
        configure?.Invoke(settings);
        var clientOptions = new SecretClientOptions();
        if (settings.Transport is { } transport)
        {
            clientOptions.Transport = transport;
        }
        // As for the TLS certificate: in Container Apps the app's managed identity (AZURE_CLIENT_ID and
        // AZURE_TOKEN_CREDENTIALS set by the AppHost), on a developer machine the Azure CLI or Visual Studio login.
        var credential = settings.Credential ?? new DefaultAzureCredential();
        var client = new SecretClient(vault.Uri!, credential, clientOptions);
        builder.Configuration.Add(new KeyVaultConfigurationSource(client, TimeProvider.System));

        var services = builder.Services;
        // The same identity reads the vault later (AddRelayKeyVault, the TLS certificate): one credential, one token cache.
        services.TryAddSingleton<TokenCredential>(credential);
        services.AddOptions<KeyVaultConfigurationOptions>().BindConfiguration(KeyVaultConfigurationOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KeyVaultConfigurationOptions>, KeyVaultConfigurationOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddHostedService<KeyVaultConfigurationRefresher>();
        return builder;
    }
}
