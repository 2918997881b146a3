using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Relay.Sender.Identity.AppLogins;

/// <summary>Registers the sources of <c>KEY@lookup</c> entries.</summary>
public static class AppLoginServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IAppLoginLookup"/>: <see cref="ConfiguredAppLogins"/>, then <see cref="TableAppLogins"/> when
    /// <c>Identity:AppLogins:Table</c> is configured (<see cref="CompositeAppLoginLookup"/>); the named HttpClient
    /// <see cref="TableAppLogins.HttpClientName"/> without resilience handlers (Azure.Core retries on its own); and, unless
    /// already registered, <see cref="TimeProvider.System"/> and a <see cref="DefaultAzureCredential"/> as Relay's
    /// <see cref="TokenCredential"/> (a host or a test registers its own first to replace it). Expects
    /// <see cref="IdentityOptions"/> to be registered.
    /// </summary>
    /// <param name="services">The service collection.</param>
    public static IServiceCollection AddAppLoginLookup(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        // In Azure Container Apps the app's managed identity; on a developer machine the Azure CLI or Visual Studio login.
        services.TryAddSingleton<TokenCredential>(_ => new DefaultAzureCredential());
        services.TryAddSingleton<ConfiguredAppLogins>();
        services.TryAddSingleton<TableAppLogins>();
        services.TryAddSingleton<IAppLoginLookup>(provider =>
            provider.GetRequiredService<IOptions<IdentityOptions>>().Value.AppLogins.Table.IsConfigured
                ? new CompositeAppLoginLookup(provider.GetRequiredService<ConfiguredAppLogins>(), provider.GetRequiredService<TableAppLogins>())
                : new CompositeAppLoginLookup(provider.GetRequiredService<ConfiguredAppLogins>()));

#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental; it is the documented way to opt out.
        services.AddHttpClient(TableAppLogins.HttpClientName).RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        return services;
    }
}
