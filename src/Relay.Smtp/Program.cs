using Relay.Smtp.Hosting;

var builder = RelayApplication.CreateBuilder(args);

builder.AddRelayKeyVaultConfiguration();
builder.AddServiceDefaults();
builder.AddRelaySmtp();

var app = builder.Build();
app.Run();
