namespace Relay.Sender.Identity.AppLogins;

/// <summary>What <c>KEY@lookup</c> stands for: the app registration to sign in as and, optionally, a forced From address.</summary>
public sealed record AppLoginEntry(string TenantId, string ClientId, string? From);

/// <summary>A source of lookup entries (configuration, Azure Table Storage).</summary>
public interface IAppLoginLookup
{
    /// <summary>The entry for <paramref name="key"/>, or null when there is none.</summary>
    /// <exception cref="AppLoginLookupUnavailableException">The source could not be asked (a transient failure).</exception>
    ValueTask<AppLoginEntry?> FindAsync(string key, CancellationToken cancellationToken);
}

/// <summary>The lookup source could not answer; the login is answered with a temporary failure, not a refusal.</summary>
public sealed class AppLoginLookupUnavailableException(string message, Exception? innerException = null)
    : Exception(message, innerException);
