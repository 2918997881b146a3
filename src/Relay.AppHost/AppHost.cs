using Azure.Provisioning.AppContainers;

var builder = DistributedApplication.CreateBuilder(args);

// Azure Container Apps allows external TCP ingress (SMTP) only in an environment on a custom VNet.
// All three are publish-only: Aspire leaves them out of the model in run mode.
var acaEnv = builder.AddAzureContainerAppEnvironment("aca-env");
var vnet = builder.AddAzureVirtualNetwork("vnet", "10.10.0.0/16");
acaEnv.WithDelegatedSubnet(vnet.AddSubnet("aca-subnet", "10.10.0.0/23"));

// Relay's Graph app registration. Publish: azd asks for each value. Run: Parameters:<name> from the AppHost's user
// secrets, else empty, and a sender without Graph:TenantId or Graph:ClientId writes mail to its pickup folder.
var graphTenantId = GraphParameter("graph-tenant-id");
var graphClientId = GraphParameter("graph-client-id");
var graphClientSecret = GraphParameter("graph-client-secret", secret: true);

// No launch profiles: the AppHost runs each service as the wiring contract does (dotnet run --no-launch-profile).
var sender = builder.AddProject<Projects.Relay_Sender>("sender", launchProfileName: null)
    .WithHttpEndpoint()                                     // internal; cleartext HTTP/2 for gRPC
    .AsHttp2Service()
    .WithEnvironment("Graph__TenantId", graphTenantId)
    .WithEnvironment("Graph__ClientId", graphClientId)
    .WithEnvironment("Graph__ClientSecret", graphClientSecret)
    .PublishAsAzureContainerApp((infra, app) => app.Template.Scale.MinReplicas = 1); // no cold start while a client waits

var smtp = builder.AddProject<Projects.Relay_Smtp>("smtp", launchProfileName: null)
    .WithEndpoint(port: 2525, targetPort: 2525, scheme: "tcp", name: "smtp", env: "Smtp__Port", isProxied: false)
    .WithReference(sender).WaitFor(sender)
    .PublishAsAzureContainerApp((infra, app) =>
    {
        // Aspire publishes the endpoint as internal TCP ingress (it refuses external non-HTTP endpoints); open it here.
        var ingress = app.Configuration.Ingress;
        ingress.Transport = ContainerAppIngressTransportMethod.Tcp;
        ingress.External = true;
        ingress.ExposedPort = 25; // a constant: ExposedPort is an int in Bicep, parameters are strings. 587 for submission.
    });

// Azure only. In run mode any Azure resource, even an existing vault, makes Aspire provision before the sender can
// start, which a laptop without a subscription cannot do; and locally SMTP stays on loopback.
if (builder.ExecutionContext.IsPublishMode)
{
    var vault = builder.AddAzureKeyVault("secrets")
        .PublishAsExisting(builder.AddParameter("key-vault-name"), builder.AddParameter("key-vault-resource-group"));
    sender.WithReference(vault);
    // Smtp reads its TLS certificate from the same vault once Smtp__Tls__KeyVaultCertificateName names it.
    smtp.WithReference(vault)
        .WithEnvironment("Smtp__BindAddress", "0.0.0.0");
}

builder.Build().Run();

IResourceBuilder<ParameterResource> GraphParameter(string name, bool secret = false) =>
    builder.ExecutionContext.IsPublishMode
        ? builder.AddParameter(name, secret)
        : builder.AddParameter(name, builder.Configuration[$"Parameters:{name}"] ?? "", secret: secret);
