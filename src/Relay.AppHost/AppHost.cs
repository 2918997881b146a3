using Azure.Provisioning.AppContainers;

var builder = DistributedApplication.CreateBuilder(args);

// Azure Container Apps allows external TCP ingress (SMTP) only in an environment on a custom VNet.
// All three are publish-only: Aspire leaves them out of the model in run mode.
var acaEnv = builder.AddAzureContainerAppEnvironment("aca-env");
var vnet = builder.AddAzureVirtualNetwork("vnet", "10.10.0.0/16");
acaEnv.WithDelegatedSubnet(vnet.AddSubnet("aca-subnet", "10.10.0.0/23"));

// Deployment choices are AppHost configuration, read when azd runs the AppHost to write its manifest (they shape the
// Bicep, so they cannot be azd parameters, which are strings resolved at deployment). An operator sets them in
// src/Relay.AppHost/appsettings.json ("Relay": { "SmtpExposedPort": 587 }) or in the environment of the shell that runs
// azd (Relay__SmtpExposedPort=587).
var smtpExposedPort = TcpIngressPort("Relay:SmtpExposedPort") ?? 25;          // 587 for submission
var implicitTlsExposedPort = TcpIngressPort("Relay:ImplicitTlsExposedPort");  // e.g. 465; unset: no implicit TLS
var graphCredential = GraphCredentialChoice("Relay:GraphCredential");
if (implicitTlsExposedPort == smtpExposedPort)
{
    throw new InvalidOperationException($"Relay:ImplicitTlsExposedPort {implicitTlsExposedPort} is the same as Relay:SmtpExposedPort.");
}

// The container's own ports: above 1024 because the image runs as a non-root user, which cannot bind 25 or 465.
const int SmtpPort = 2525;
const int ImplicitTlsPort = 2465;
const int SmtpHealthPort = 8080;

var sender = builder.AddProject<Projects.Relay_Sender>("sender", launchProfileName: null)
    .WithHttpEndpoint()                                     // internal; cleartext HTTP/2 for gRPC
    .AsHttp2Service()
    .PublishAsAzureContainerApp((infra, app) => app.Template.Scale.MinReplicas = 1); // no cold start while a client waits

var smtp = builder.AddProject<Projects.Relay_Smtp>("smtp", launchProfileName: null)
    .WithEndpoint(port: SmtpPort, targetPort: SmtpPort, scheme: "tcp", name: "smtp", env: "Smtp__Port", isProxied: false)
    .WithReference(sender).WaitFor(sender);

if (builder.ExecutionContext.IsPublishMode)
{
    // Azure only. In run mode any Azure resource, even an existing vault, makes Aspire provision before the sender can
    // start, which a laptop without a subscription cannot do; and locally SMTP stays on loopback.
    var vault = builder.AddAzureKeyVault("secrets")
        .PublishAsExisting(builder.AddParameter("key-vault-name"), builder.AddParameter("key-vault-resource-group"));
    sender.WithReference(vault);
    UseGraphCredential(sender, graphCredential);

    // Smtp reads its TLS certificate from the same vault (Smtp--Tls--KeyVaultCertificateName, a setting in the vault).
    smtp.WithReference(vault)
        .WithEnvironment("Smtp__BindAddress", "0.0.0.0")
        // /health and /alive for whoever probes the replica directly. Container Apps' own probes stay at their
        // defaults (TCP on the ingress port, 2525): the reference this AppHost is written against names no probe API.
        .WithEnvironment("Smtp__HealthPort", SmtpHealthPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
    if (implicitTlsExposedPort is not null)
    {
        // A second TCP endpoint: Aspire publishes it as an internal additional port mapping, opened below.
        smtp.WithEndpoint(port: ImplicitTlsPort, targetPort: ImplicitTlsPort, scheme: "tcp", name: "smtps",
            env: "Smtp__ImplicitTlsPort", isProxied: false);
    }
    smtp.PublishAsAzureContainerApp((infra, app) =>
    {
        // Aspire publishes TCP endpoints as internal ingress (it refuses external non-HTTP endpoints, and more than one
        // external endpoint group): the first as the main ingress, any other as an additional port mapping. Open them here.
        var ingress = app.Configuration.Ingress;
        ingress.Transport = ContainerAppIngressTransportMethod.Tcp;
        ingress.External = true;
        ingress.TargetPort = SmtpPort;
        ingress.ExposedPort = smtpExposedPort;
        if (implicitTlsExposedPort is { } exposed)
        {
            var mapping = ingress.AdditionalPortMappings.Single(m => m.Value!.TargetPort.Value == ImplicitTlsPort).Value!;
            mapping.External = true;
            mapping.ExposedPort = exposed;
        }
    });
}
else
{
    // Run mode: Relay's Graph app registration from Parameters:<name> in the AppHost's user secrets, else empty, and a
    // sender without Graph:TenantId or Graph:ClientId writes mail to its pickup folder.
    sender.WithEnvironment("Graph__TenantId", LocalParameter("graph-tenant-id"))
        .WithEnvironment("Graph__ClientId", LocalParameter("graph-client-id"))
        .WithEnvironment("Graph__ClientSecret", LocalParameter("graph-client-secret", secret: true));
}

builder.Build().Run();

// How Relay's app signs in to Entra ID in Azure (Relay.Sender's Graph:Credential).
void UseGraphCredential(IResourceBuilder<ProjectResource> senderApp, string credential)
{
    if (credential == "ClientSecret")
    {
        // An app registration with a client secret; azd asks for all three and keeps the secret as a Container Apps secret.
        senderApp.WithEnvironment("Graph__Credential", "ClientSecret")
            .WithEnvironment("Graph__TenantId", builder.AddParameter("graph-tenant-id"))
            .WithEnvironment("Graph__ClientId", builder.AddParameter("graph-client-id"))
            .WithEnvironment("Graph__ClientSecret", builder.AddParameter("graph-client-secret", secret: true));
        return;
    }
    // The sender's own managed identity, which has no secret. Aspire gives the app a user-assigned identity (the one
    // that reads the vault) and names it in AZURE_CLIENT_ID; Relay.Sender takes the Graph identity from
    // Graph:ManagedIdentityClientId only (a user-assigned identity must be named), so the same value is passed on.
    senderApp.WithEnvironment("Graph__Credential", "ManagedIdentity")
        .PublishAsAzureContainerApp((infra, app) =>
        {
            var env = app.Template.Containers.Single().Value!.Env;
            var azureClientId = env.Single(e => e.Value!.Name.Value == "AZURE_CLIENT_ID").Value!;
            env.Add(new ContainerAppEnvironmentVariable { Name = "Graph__ManagedIdentityClientId", Value = azureClientId.Value });
        });
}

// A port Container Apps can expose for TCP ingress: 1..65535, but not 80 or 443 (HTTP ingress owns those).
int? TcpIngressPort(string key)
{
    if (builder.Configuration[key] is not { } text)
    {
        return null;
    }
    return int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535 and not 80 and not 443
        ? port
        : throw new InvalidOperationException($"{key} '{text}' must be a port from 1 to 65535 other than 80 and 443.");
}

string GraphCredentialChoice(string key) => builder.Configuration[key] switch
{
    null or "ClientSecret" => "ClientSecret",
    "ManagedIdentity" => "ManagedIdentity",
    var other => throw new InvalidOperationException($"{key} '{other}' must be ClientSecret or ManagedIdentity."),
};

IResourceBuilder<ParameterResource> LocalParameter(string name, bool secret = false) =>
    builder.AddParameter(name, builder.Configuration[$"Parameters:{name}"] ?? "", secret: secret);
