using Relay.Smtp.Hosting;

var builder = RelayApplication.CreateBuilder(args);

builder.AddRelayKeyVaultConfiguration();
builder.AddServiceDefaults();
builder.AddRelaySmtp();

var app = builder.Build();
// /health and /alive, served only on Smtp:HealthPort when it is set (the SMTP listeners run their own handler).
app.MapDefaultEndpoints();
app.Run();
