using Azure;
using Azure.Identity;

namespace Microsoft.Extensions.Hosting;

/// <summary>How Relay recognises and reports a Key Vault that could not be read, for every reader of the vault.</summary>
public static class KeyVaultFailure
{
    /// <summary>Key Vault answered with an error, could not be reached, or Relay's identity could not get a token.</summary>
    public static bool IsVaultFailure(Exception ex) => ex is RequestFailedException or AuthenticationFailedException;

    /// <summary>
    /// The first line of the message (Azure.Core appends the response content and headers; for an error response the
    /// content is Key Vault's error, never a secret, but the line is what an operator needs), with the status and code.
    /// </summary>
    public static string Describe(Exception ex)
    {
        var message = ex.Message.Split('\n', 2)[0].TrimEnd('\r');
        return ex is RequestFailedException { Status: > 0 } failed
            ? $"{message} (HTTP {failed.Status}{(failed.ErrorCode is { } code ? $", {code}" : string.Empty)})"
            : message;
    }
}
