using System.Globalization;
using Relay.Sender.Identity;

namespace Relay.Sender.Hosting;

/// <summary>
/// <c>Relay.Sender hash-password [--iterations N]</c>: reads a password from standard input (without echo on a
/// terminal) and prints its <c>Identity:Accounts:NAME:PasswordHash</c> value. The password is never an argument, so it
/// stays out of shell history and process listings.
/// </summary>
public static class HashPasswordCommand
{
    public const string Name = "hash-password";

    public static int Run(string[] args, TextReader input, TextWriter output, TextWriter error)
    {
        var iterations = PasswordHash.DefaultIterations;
        if (args.Length == 3 && args[1] == "--iterations"
            && int.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out var requested))
        {
            iterations = requested;
        }
        else if (args.Length != 1)
        {
            error.WriteLine($"usage: Relay.Sender {Name} [--iterations N]   (the password is read from standard input)");
            return 2;
        }
        if (iterations < PasswordHash.MinimumIterations)
        {
            error.WriteLine($"--iterations must be at least {PasswordHash.MinimumIterations}.");
            return 2;
        }

        var password = SecretInput.ReadLine(input, error, "Password");
        if (string.IsNullOrEmpty(password))
        {
            error.WriteLine("The password must not be empty.");
            return 1;
        }
        output.WriteLine(PasswordHash.Create(password, iterations).ToString());
        return 0;
    }
}
