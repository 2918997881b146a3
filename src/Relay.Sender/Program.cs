using Relay.Sender.Hosting;

if (args.FirstOrDefault() == HashPasswordCommand.Name)
{
    return HashPasswordCommand.Run(args, Console.In, Console.Out, Console.Error);
}
if (args.FirstOrDefault() == ProtectSecretCommand.Name)
{
    return ProtectSecretCommand.Run(args, Console.In, Console.Out, Console.Error);
}

var builder = RelayApplication.CreateBuilder(args);

builder.AddRelayKeyVaultConfiguration();
builder.AddServiceDefaults();
builder.AddRelaySender();

var app = builder.Build();
app.MapRelaySender();
app.Run();
return 0;
