using Microsoft.Extensions.Options;
using Microsoft.Graph;
using Microsoft.Kiota.Http.HttpClientLibrary.Middleware;
using Relay.Sender.Delivery;
using Relay.Sender.Delivery.Graph;
using Relay.Sender.Delivery.Pickup;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Relay.Sender.Identity;
using Relay.Sender.Identity.AppLogins;
using Relay.Sender.Identity.Tokens;
using Relay.Sender.Policy;
using Relay.Sender.Submission;

namespace Relay.Sender.Hosting;

public static partial class SenderHostingExtensions
{
    /// <summary>Options, identity, policy and the delivery chosen by <c>Delivery:Mode</c>.</summary>
    public static WebApplicationBuilder AddRelaySender(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<IdentityOptions>().BindConfiguration(IdentityOptions.SectionName)
            // Mailbox logins sign in through Relay's app registration, so it must be named.
            .Validate<IOptions<GraphOptions>>((identity, graph) => !identity.MailboxLogins.Enabled
                    || !string.IsNullOrWhiteSpace(graph.Value.TenantId) && !string.IsNullOrWhiteSpace(graph.Value.ClientId),
                "Identity:MailboxLogins:Enabled needs Graph:TenantId and Graph:ClientId: mailbox logins sign in through Relay's app registration.")
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<IdentityOptions>, IdentityOptionsValidator>();
        services.AddOptions<DeliveryOptions>().BindConfiguration(DeliveryOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DeliveryOptions>, DeliveryOptionsValidator>();
        builder.AddRelayKeyVault();
        services.AddOptions<GraphOptions>().BindConfiguration(GraphOptions.SectionName)
            // Configuration holds the environment, so AZURE_FEDERATED_TOKEN_FILE and friends arrive the usual way.
            .PostConfigure<IConfiguration>((graph, configuration) => graph.UseWorkloadIdentityEnvironment(name => configuration[name]))
            .Validate<IOptions<KeyVaultOptions>>((graph, vault) => !graph.HasKeyVaultCertificate || vault.Value.IsConfigured,
                $"Graph:CertificateName needs the vault: set {KeyVaultOptions.ConfigurationKey} to its URI (https://NAME.vault.azure.net/).")
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<GraphOptions>, GraphOptionsValidator>();

        services.AddGrpc();
        // gRPC health (the "" service) reports every check, so a gRPC probe sees the Graph token check too.
        services.AddGrpcHealthChecks().AddCheck("sender", () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy());
        services.AddSingleton<GraphTokenHealthCheck>();
        services.AddHealthChecks().AddCheck<GraphTokenHealthCheck>(GraphTokenHealthCheck.Name, tags: ["ready"]);
        services.AddSingleton<RelayAccounts>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<LoginTokenCache>();
        services.AddSingleton<EntraCredentials>();
        services.AddSingleton<AppCredentialLogins>();
        services.AddSingleton<MailboxLogins>();
        services.AddSingleton<SmtpLogins>();
        services.AddAppLoginLookup();
        services.AddSingleton<SenderAuthorization>();
        services.AddSingleton<SubmissionProcessor>();

        AddGraphHttpClients(services);
        services.AddSingleton<GraphClientProvider>();
        services.AddSingleton<MailboxConcurrencyLimiter>();
        services.AddSingleton<GraphCallPolicy>();
        services.AddSingleton<GraphUploadDelivery>();
        services.AddSingleton<GraphMimeDelivery>();
        services.AddSingleton<PickupDelivery>();
        services.AddSingleton<IMessageDelivery>(sp => ResolveMode(sp) == DeliveryMode.Graph
            ? sp.GetRequiredService<GraphMimeDelivery>()
            : sp.GetRequiredService<PickupDelivery>());
        return builder;
    }

    /// <summary>The gRPC endpoints and health; says at start-up where mail goes.</summary>
    public static WebApplication MapRelaySender(this WebApplication app)
    {
        app.MapGrpcService<MailSubmissionService>();
        app.MapGrpcHealthChecksService();
        app.MapDefaultEndpoints();

        var services = app.Services;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Relay.Sender");
        var graph = services.GetRequiredService<IOptions<GraphOptions>>().Value;
        switch (services.GetRequiredService<IMessageDelivery>())
        {
            case PickupDelivery pickup:
                LogPickupMode(logger, pickup.Folder);
                break;
            case GraphMimeDelivery:
                LogGraphMode(logger, graph.BaseUrl, graph.TenantId ?? "(none)", graph.ClientId ?? "(none)",
                    services.GetRequiredService<GraphClientProvider>().Credential);
                if (!graph.SaveToSentItems)
                {
                    LogSaveToSentItemsIgnored(logger);
                }
                break;
        }
        var identity = services.GetRequiredService<IOptions<IdentityOptions>>().Value;
        var accounts = services.GetRequiredService<RelayAccounts>().Count;
        LogLogins(logger, accounts,
            identity.AppLogins.Enabled ? (identity.AppLogins.RequireLookup ? "lookup only" : "on") : "off",
            identity.AppLogins.Lookup.Count, identity.AppLogins.Table.IsConfigured,
            identity.MailboxLogins.Enabled ? (identity.MailboxLogins.Domains.Count > 0 ? string.Join(",", identity.MailboxLogins.Domains) : "any domain") : "off");
        if (accounts == 0 && !identity.AppLogins.Enabled && !identity.MailboxLogins.Enabled)
        {
            LogNoAccounts(logger);
        }
        return app;
    }

    private static DeliveryMode ResolveMode(IServiceProvider services)
    {
        var mode = services.GetRequiredService<IOptions<DeliveryOptions>>().Value.Mode;
        var graph = services.GetRequiredService<IOptions<GraphOptions>>().Value;
        if (mode == DeliveryMode.Auto)
        {
            mode = graph.IsConfigured ? DeliveryMode.Graph : DeliveryMode.Pickup;
        }
        if (mode == DeliveryMode.Graph && graph.MissingForDelivery().ToArray() is { Length: > 0 } missing)
        {
            throw new OptionsValidationException(GraphOptions.SectionName, typeof(GraphOptions),
                [$"Graph delivery needs {string.Join(", ", missing)} (or set Delivery:Mode=Pickup)."]);
        }
        return mode;
    }

    private static void AddGraphHttpClients(IServiceCollection services)
    {
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental; it is the documented way to opt out.
        // Graph: Kiota's middleware without its RetryHandler — Relay decides what is retried and how the client hears of it
        // (GraphCallPolicy). The client's timeout backs up the policy's own per-request timeout.
        services.AddHttpClient(GraphClientProvider.GraphHttpClient, (sp, client) =>
                client.Timeout = sp.GetRequiredService<IOptions<GraphOptions>>().Value.RequestTimeout)
            .RemoveAllResilienceHandlers()
            .ConfigureAdditionalHttpMessageHandlers((handlers, _) =>
            {
                foreach (var handler in GraphClientFactory.CreateDefaultHandlers().Where(h => h is not RetryHandler))
                {
                    handlers.Add(handler);
                }
            });
        // Entra: Azure.Core has its own retry policy for the token endpoint.
        services.AddHttpClient(EntraCredentials.HttpClientName).RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Delivery: PICKUP. No Graph configuration, so accepted mail is written as .eml files to {Directory} and NOT sent. Set Graph:TenantId, Graph:ClientId and a credential (Graph:ClientSecret, a certificate or a managed identity) to send through Microsoft 365.")]
    private static partial void LogPickupMode(ILogger logger, string directory);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivery: GRAPH at {BaseUrl}, tenant {TenantId}, app {ClientId}, signing in with {Credential}")]
    private static partial void LogGraphMode(ILogger logger, string baseUrl, string tenantId, string clientId, string credential);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Graph:SaveToSentItems is false, but every message Relay sends is saved in Sent Items: Graph has no switch for MIME sendMail or for sending a draft (large messages).")]
    private static partial void LogSaveToSentItemsIgnored(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Logins: {AccountCount} Relay accounts; app logins {AppLogins} ({LookupCount} lookup entries, table {LookupTable}); mailbox logins {MailboxLogins}")]
    private static partial void LogLogins(ILogger logger, int accountCount, string appLogins, int lookupCount, bool lookupTable, string mailboxLogins);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "No relay accounts are configured (Identity:Accounts) and app and mailbox logins are off: every SMTP login will fail. Make a hash with 'Relay.Sender hash-password'.")]
    private static partial void LogNoAccounts(ILogger logger);
}
