using Relay.Smtp.Hosting;

var builder = WebApplication.CreateBuilder(args);

builder.AddRelayKeyVaultConfiguration();
builder.AddServiceDefaults();
builder.AddRelaySmtp();

var app = builder.Build();
app.Run();
