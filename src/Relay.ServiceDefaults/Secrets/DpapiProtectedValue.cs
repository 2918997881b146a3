using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// A configuration value protected with Windows DPAPI: <c>dpapi:</c> followed by the base64 of the blob
/// <c>CryptProtectData</c> made from the UTF-8 secret (<c>Relay.Sender protect-secret</c> prints one).
/// </summary>
/// <remarks>
/// No entropy: azureSMTPwithOAuth's <c>-encrypt</c> passes a fixed one, but entropy that ships in the program is public
/// and protects nothing. What protects the value is the scope: a <see cref="DataProtectionScope.LocalMachine"/> blob opens
/// only on the machine that made it (for any account on it); a <see cref="DataProtectionScope.CurrentUser"/> blob only for
/// the account that made it, and only while that account's profile is loaded. The blob records its scope, so reading
/// needs no setting.
/// </remarks>
public static class DpapiProtectedValue
{
    public const string Prefix = "dpapi:";

    public const string WindowsOnly = "DPAPI-protected values can only be read on Windows";

    /// <summary>Whether the value is meant to be DPAPI-protected (case-sensitive, as the command prints it).</summary>
    public static bool IsProtected(string? value) => value is not null && value.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The blob after the prefix; <paramref name="error"/> says what is wrong otherwise (never quoting the value).</summary>
    public static bool TryParse(string value, out byte[] blob, out string? error)
    {
        blob = [];
        error = null;
        if (!IsProtected(value))
        {
            error = $"does not start with '{Prefix}'";
            return false;
        }
        var base64 = value.AsSpan(Prefix.Length).Trim();
        var buffer = new byte[base64.Length];
        if (base64.IsEmpty || !Convert.TryFromBase64Chars(base64, buffer, out var written))
        {
            error = $"is not base64 after '{Prefix}'";
            return false;
        }
        blob = buffer[..written];
        return true;
    }

    [SupportedOSPlatform("windows")]
    public static string Protect(string secret, DataProtectionScope scope) =>
        Prefix + Convert.ToBase64String(ProtectedData.Protect(Encoding.UTF8.GetBytes(secret), optionalEntropy: null, scope));

    /// <exception cref="CryptographicException">Another machine's or account's blob, or not a DPAPI blob at all.</exception>
    [SupportedOSPlatform("windows")]
    public static string Unprotect(byte[] blob) =>
        // The scope argument matters only when protecting; CryptUnprotectData reads it from the blob.
        Encoding.UTF8.GetString(ProtectedData.Unprotect(blob, optionalEntropy: null, DataProtectionScope.CurrentUser));
}
