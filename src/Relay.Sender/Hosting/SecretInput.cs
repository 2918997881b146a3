using System.Text;

namespace Relay.Sender.Hosting;

/// <summary>How the commands read a password or secret: one line of standard input, without echo on a terminal.</summary>
internal static class SecretInput
{
    public static string? ReadLine(TextReader input, TextWriter prompt, string label) =>
        Console.IsInputRedirected || input != Console.In ? input.ReadLine() : ReadHidden(prompt, label);

    private static string ReadHidden(TextWriter prompt, string label)
    {
        prompt.Write($"{label}: ");
        var secret = new StringBuilder();
        for (var key = Console.ReadKey(intercept: true); key.Key != ConsoleKey.Enter; key = Console.ReadKey(intercept: true))
        {
            if (key.Key == ConsoleKey.Backspace && secret.Length > 0)
            {
                secret.Length--;
            }
            else if (!char.IsControl(key.KeyChar))
            {
                secret.Append(key.KeyChar);
            }
        }
        prompt.WriteLine();
        return secret.ToString();
    }
}
