using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>Reads <c>dpapi:</c> values (see <see cref="DpapiProtectedValue"/>) wherever configuration holds them.</summary>
public static class DpapiConfigurationExtensions
{
    /// <summary>
    /// Replaces every configuration value that starts with <c>dpapi:</c> by its unprotected value, in a source added after
    /// all the others, so an environment variable, a command-line argument or appsettings.json can each hold one. Any
    /// value that cannot be read stops start-up, naming its key: on anything but Windows every such value does.
    /// </summary>
    /// <remarks>
    /// Values are read once, at start-up: a reloaded file brings a new <c>dpapi:</c> value in only after a restart. Key
    /// Vault, added later, is not looked at: it is a protected store already.
    /// </remarks>
    public static IConfigurationBuilder AddDpapiUnprotectedValues(this IConfigurationManager configuration)
    {
        var unprotected = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var failures = new List<string>();
        foreach (var (key, value) in configuration.AsEnumerable())
        {
            if (!DpapiProtectedValue.IsProtected(value))
            {
                continue;
            }
            if (!OperatingSystem.IsWindows())
            {
                failures.Add($"{key} is DPAPI-protected ('{DpapiProtectedValue.Prefix}…'): {DpapiProtectedValue.WindowsOnly}. Give it its plain value on this machine, or keep it in Key Vault.");
            }
            else if (!DpapiProtectedValue.TryParse(value!, out var blob, out var error))
            {
                failures.Add($"{key} {error}: print the value with 'Relay.Sender protect-secret'.");
            }
            else
            {
                try
                {
                    unprotected[key] = DpapiProtectedValue.Unprotect(blob);
                }
                catch (CryptographicException ex)
                {
                    // DPAPI's message says why (wrong machine, key not valid in this state); it never holds the secret.
                    failures.Add($"{key} could not be unprotected ({ex.Message.Trim()}): it was protected on another machine, or "
                        + "with --scope CurrentUser by another account. Run 'Relay.Sender protect-secret' again on this machine.");
                }
            }
        }
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(Options.Options.DefaultName, typeof(IConfiguration), failures);
        }
        return unprotected.Count == 0 ? configuration : configuration.AddInMemoryCollection(unprotected);
    }
}
