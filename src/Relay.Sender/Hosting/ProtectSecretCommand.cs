using System.Security.Cryptography;

namespace Relay.Sender.Hosting;

/// <summary>
/// <c>Relay.Sender protect-secret [--scope LocalMachine|CurrentUser]</c> (Windows): reads a secret from standard input
/// (without echo on a terminal) and prints it DPAPI-protected, <c>dpapi:BASE64</c>, for any configuration value such as
/// <c>Graph:ClientSecret</c>. Both services unprotect such values at start-up.
/// </summary>
/// <remarks>
/// LocalMachine (the default) is what an installer running as an administrator can make for a service's virtual account
/// (<c>NT SERVICE\relay-sender</c>): the blob opens on this machine only, for any account on it. CurrentUser opens for the
/// account that ran the command only, so it serves a service only when run as the service's own account (a domain or
/// managed service account with a loaded profile), never from an administrator's session.
/// </remarks>
public static class ProtectSecretCommand
{
    public const string Name = "protect-secret";

    public static int Run(string[] args, TextReader input, TextWriter output, TextWriter error)
    {
        if (!OperatingSystem.IsWindows())
        {
            error.WriteLine($"{DpapiProtectedValue.WindowsOnly}, so {Name} runs on Windows only. Elsewhere keep the secret in Key Vault or in a file only the service can read.");
            return 1;
        }
        var scope = DataProtectionScope.LocalMachine;
        if (args.Length == 3 && args[1] == "--scope" && Enum.TryParse(args[2], ignoreCase: true, out DataProtectionScope requested)
            && Enum.IsDefined(requested))
        {
            scope = requested;
        }
        else if (args.Length != 1)
        {
            error.WriteLine($"usage: Relay.Sender {Name} [--scope LocalMachine|CurrentUser]   (the secret is read from standard input)");
            return 2;
        }

        var secret = SecretInput.ReadLine(input, error, "Secret");
        if (string.IsNullOrEmpty(secret))
        {
            error.WriteLine("The secret must not be empty.");
            return 1;
        }
        output.WriteLine(DpapiProtectedValue.Protect(secret, scope));
        return 0;
    }
}
