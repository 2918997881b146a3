using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Relay.Sender.Delivery.Graph;
using Relay.Sender.Hosting;
using Relay.Sender.Identity;
using Relay.Smtp.Hosting;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// Relay.Sender and Relay.Smtp as two hosts on real loopback sockets, wired exactly as the AppHost wires them
/// (<c>services__sender__http__0</c>, HTTP/2 cleartext gRPC), each built by the same extension methods as its Program.
/// </summary>
public sealed class RelayStack : IAsyncDisposable
{
    public const string Account = "printer";
    public const string Password = "correct horse battery staple";
    public const string AllowedSender = "*@contoso.com";
    public const string GraphTenantId = "11111111-1111-1111-1111-111111111111";
    public const string GraphClientId = "22222222-2222-2222-2222-222222222222";

    /// <summary>The client secret of Relay's app registration in the fake cloud (<c>Graph:ClientSecret</c>).</summary>
    public const string GraphClientSecret = "relay-app-secret-value";

    // Hashing at the minimum cost keeps the suite fast; production defaults to 600,000 iterations.
    private static readonly string PasswordHashText = PasswordHash.Create(Password, PasswordHash.MinimumIterations).ToString();

    private readonly List<WebApplication> _hosts = [];
    private LogLevel _minimumLogLevel;

    private RelayStack(string pickupDirectory) => PickupDirectory = pickupDirectory;

    public int SmtpPort { get; private set; }
    public int? ImplicitTlsPort { get; private set; }
    public WebApplication Smtp => _hosts[1];
    public string SenderUrl { get; private set; } = string.Empty;
    public string PickupDirectory { get; }

    /// <summary>Where Relay.Smtp's cert.pem and key.pem are, when started with TLS.</summary>
    public string? CertificateDirectory { get; private set; }

    /// <summary>The certificate Relay.Smtp was started with, when started with TLS.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? Certificate { get; private set; }
    public ConcurrentQueue<string> Logs { get; } = new();
    public WebApplication Sender => _hosts[0];

    /// <summary>Starts both services delivering to a fresh pickup folder, or to <paramref name="cloud"/> when given.</summary>
    /// <param name="tls">
    /// Gives Relay.Smtp a fresh self-signed certificate in <see cref="CertificateDirectory"/> (cert.pem, key.pem), an
    /// implicit-TLS port, and leaves <c>Smtp:Tls:RequireForAuth</c> at its default.
    /// </param>
    /// <param name="configureSmtp">Runs after <c>AddRelaySmtp</c> on Relay.Smtp's builder: test transports and credentials.</param>
    /// <param name="configureKeyVault">
    /// The identity and transport both services read their configuration from Key Vault with, when their settings name a
    /// vault (<c>ConnectionStrings:secrets</c>); as in Program.cs, the vault is added after the settings and wins over them.
    /// </param>
    /// <param name="configureSender">Runs after <c>AddRelaySender</c> on Relay.Sender's builder.</param>
    /// <param name="minimumLogLevel">What <see cref="Logs"/> captures from both services: Debug and up unless a test needs Trace.</param>
    /// <remarks>A null value in <paramref name="senderSettings"/> or <paramref name="smtpSettings"/> removes that default setting.</remarks>
    public static async Task<RelayStack> StartAsync(
        FakeMicrosoftCloud? cloud = null,
        IDictionary<string, string?>? senderSettings = null,
        IDictionary<string, string?>? smtpSettings = null,
        bool tls = false,
        Action<WebApplicationBuilder>? configureSmtp = null,
        Action<KeyVaultClientSettings>? configureKeyVault = null,
        Action<WebApplicationBuilder>? configureSender = null,
        LogLevel minimumLogLevel = LogLevel.Debug)
    {
        var stack = new RelayStack(Directory.CreateTempSubdirectory("relay-pickup-").FullName) { _minimumLogLevel = minimumLogLevel };
        if (tls)
        {
            stack.CertificateDirectory = Directory.CreateTempSubdirectory("relay-tls-").FullName;
            stack.Certificate = LoopbackCertificate.WritePemFiles(stack.CertificateDirectory, "relay.test");
        }
        var sender = new Dictionary<string, string?>
        {
            ["Kestrel:EndpointDefaults:Protocols"] = "Http2",
            ["Delivery:PickupDirectory"] = stack.PickupDirectory,
            [$"Identity:Accounts:{Account}:PasswordHash"] = PasswordHashText,
            [$"Identity:Accounts:{Account}:AllowedSenders:0"] = AllowedSender,
        };
        if (cloud is not null)
        {
            const string tenant = GraphTenantId;
            const string client = GraphClientId;
            cloud.RegisterApp(tenant, client, GraphClientSecret);
            sender["Graph:BaseUrl"] = cloud.GraphBaseUrl;
            sender["Graph:AuthorityHost"] = cloud.AuthorityHost.ToString();
            sender["Graph:TenantId"] = tenant;
            sender["Graph:ClientId"] = client;
            sender["Graph:ClientSecret"] = GraphClientSecret;
        }
        Merge(sender, senderSettings);

        try
        {
            var senderApp = stack.Build("Relay.Sender", sender, configureKeyVault, builder =>
            {
                builder.AddRelaySender();
                if (cloud is not null)
                {
                    // The fake cloud's certificate is trusted by these two clients only, as a test transport.
                    builder.Services.AddHttpClient(GraphClientProvider.GraphHttpClient).ConfigurePrimaryHttpMessageHandler(cloud.CreateTrustingHandler);
                    builder.Services.AddHttpClient(EntraCredentials.HttpClientName).ConfigurePrimaryHttpMessageHandler(cloud.CreateTrustingHandler);
                }
                configureSender?.Invoke(builder);
            });
            senderApp.MapRelaySender();
            await senderApp.StartAsync();
            stack.SenderUrl = senderApp.Urls.Single();

            var smtp = new Dictionary<string, string?>
            {
                ["services:sender:http:0"] = stack.SenderUrl,
                ["Smtp:Port"] = "0",
                ["Smtp:ServerName"] = "relay.test",
                // No tarpit in tests: a wrong password is answered at once.
                ["Smtp:AuthFailureDelay"] = "00:00:00",
            };
            if (stack.CertificateDirectory is { } certificates)
            {
                smtp["Smtp:Tls:CertificatePath"] = Path.Combine(certificates, "cert.pem");
                smtp["Smtp:Tls:KeyPath"] = Path.Combine(certificates, "key.pem");
                smtp["Smtp:ImplicitTlsPort"] = "0";
            }
            Merge(smtp, smtpSettings);
            var smtpApp = stack.Build("Relay.Smtp", smtp, configureKeyVault, builder =>
            {
                builder.AddRelaySmtp();
                configureSmtp?.Invoke(builder);
            });
            await smtpApp.StartAsync();
            var listeners = smtpApp.Services.GetRequiredService<SmtpListeners>();
            stack.SmtpPort = listeners.PlainEndPoint!.Port;
            stack.ImplicitTlsPort = listeners.ImplicitTlsEndPoint?.Port;
        }
        catch
        {
            // A host that failed to start must not leave the other one running.
            await stack.DisposeAsync();
            throw;
        }
        return stack;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in Enumerable.Reverse(_hosts))
        {
            await host.StopAsync();
            await host.DisposeAsync();
        }
        Directory.Delete(PickupDirectory, recursive: true);
        if (CertificateDirectory is not null)
        {
            Directory.Delete(CertificateDirectory, recursive: true);
        }
    }

    private WebApplication Build(string name, Dictionary<string, string?> settings, Action<KeyVaultClientSettings>? configureKeyVault, Action<WebApplicationBuilder> configure)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = name,
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Configuration["urls"] = "http://127.0.0.1:0";
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(_minimumLogLevel);
        builder.Logging.AddProvider(new CapturingLoggerProvider(Logs));
        builder.AddRelayKeyVaultConfiguration(configureKeyVault);
        builder.AddServiceDefaults();
        configure(builder);
        var app = builder.Build();
        _hosts.Add(app);
        return app;
    }

    private static void Merge(Dictionary<string, string?> target, IDictionary<string, string?>? source)
    {
        foreach (var (key, value) in source ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                target.Remove(key);
            }
            else
            {
                target[key] = value;
            }
        }
    }
}

/// <summary>
/// Keeps every formatted log line, with its structured values and its exception, so tests can look for what must never
/// be logged.
/// </summary>
public sealed class CapturingLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {Values(state)} {exception}");

        private static string Values<TState>(TState state) =>
            state is IEnumerable<KeyValuePair<string, object?>> values ? string.Join(" ", values.Select(v => $"{v.Key}={v.Value}")) : string.Empty;
    }
}
