using System.Globalization;
using System.Text;
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

        var password = Console.IsInputRedirected || input != Console.In ? input.ReadLine() : ReadHidden(error);
        if (string.IsNullOrEmpty(password))
        {
            error.WriteLine("The password must not be empty.");
            return 1;
        }
        output.WriteLine(PasswordHash.Create(password, iterations).ToString());
        return 0;
    }

    private static string ReadHidden(TextWriter prompt)
    {
        prompt.Write("Password: ");
        var password = new StringBuilder();
        for (var key = Console.ReadKey(intercept: true); key.Key != ConsoleKey.Enter; key = Console.ReadKey(intercept: true))
        {
            if (key.Key == ConsoleKey.Backspace && password.Length > 0)
            {
                password.Length--;
            }
            else if (!char.IsControl(key.KeyChar))
            {
                password.Append(key.KeyChar);
            }
        }
        prompt.WriteLine();
        return password.ToString();
    }
}
