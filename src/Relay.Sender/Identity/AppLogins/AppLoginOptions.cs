using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Relay.Sender.Identity.AppLogins;

/// <summary>
/// Configuration section <c>Identity:AppLogins</c>: SMTP logins that are an app registration's own credentials
/// (username <c>TENANT@CLIENT</c> or <c>KEY@lookup</c>, password = that app's client secret), as smtp-oauth-relay users have.
/// </summary>
public sealed class AppLoginOptions : IValidatableObject
{
    public bool Enabled { get; set; }

    /// <summary>
    /// Makes the lookup an allowlist: only <c>KEY@lookup</c> logins found in <see cref="Lookup"/> or <see cref="Table"/>
    /// are accepted, and a bare <c>TENANT@CLIENT</c> is refused.
    /// </summary>
    public bool RequireLookup { get; set; }

    /// <summary>Lookup entries by key (<c>Identity:AppLogins:Lookup:KEY</c>); keys are case-insensitive.</summary>
    public Dictionary<string, AppLoginEntryOptions> Lookup { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Lookup entries in Azure Table Storage, consulted after <see cref="Lookup"/>.</summary>
    [ValidateObjectMembers]
    public AppLoginTableOptions Table { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (key, entry) in Lookup)
        {
            var prefix = $"Identity:AppLogins:Lookup:{key}";
            if (!AppLoginName.IsGuid(entry.TenantId))
            {
                yield return new ValidationResult($"{prefix}:TenantId must be a GUID (the directory/tenant ID).");
            }
            if (!AppLoginName.IsGuid(entry.ClientId))
            {
                yield return new ValidationResult($"{prefix}:ClientId must be a GUID (the application/client ID).");
            }
            if (entry.From is { Length: > 0 } from && !SenderPattern.IsAddress(from))
            {
                yield return new ValidationResult($"{prefix}:From '{from}' is not an address.");
            }
        }
        if (RequireLookup && Lookup.Count == 0 && !Table.IsConfigured)
        {
            yield return new ValidationResult(
                "Identity:AppLogins:RequireLookup is true but there is nothing to look up: add Identity:AppLogins:Lookup entries or Identity:AppLogins:Table.");
        }
    }
}

/// <summary>What a lookup key stands for.</summary>
public sealed class AppLoginEntryOptions
{
    public string TenantId { get; set; } = string.Empty;
    public string ClientId { get; set; } = string.Empty;

    /// <summary>When set, every message from this login is sent as this address, whatever the message says.</summary>
    public string? From { get; set; }
}

/// <summary>
/// <c>Identity:AppLogins:Table</c>: an Azure Table whose entities (PartitionKey <see cref="PartitionKey"/>, RowKey = the
/// lookup key) carry <c>TenantId</c>, <c>ClientId</c> and optional <c>From</c>. Reached with Relay's Azure identity at
/// <see cref="Endpoint"/>, or with a storage <see cref="ConnectionString"/>.
/// </summary>
public sealed class AppLoginTableOptions : IValidatableObject
{
    /// <summary><c>https://ACCOUNT.table.core.windows.net/</c>; read with Relay's Azure identity (managed identity in Azure).</summary>
    public string? Endpoint { get; set; }

    /// <summary>A storage connection string (shared key); a secret, so keep it in Key Vault. Never logged.</summary>
    public string? ConnectionString { get; set; }

    public string TableName { get; set; } = "RelayLogins";

    public string PartitionKey { get; set; } = "lookup";

    /// <summary>How long a found (or missing) key is remembered before the table is asked again.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", ErrorMessage = "Identity:AppLogins:Table:CacheDuration must be between 0 and 1 day.")]
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromMinutes(5);

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Endpoint) || !string.IsNullOrWhiteSpace(ConnectionString);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrWhiteSpace(Endpoint) && !string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return new ValidationResult("Set either Identity:AppLogins:Table:Endpoint or Identity:AppLogins:Table:ConnectionString, not both.");
        }
        if (!string.IsNullOrWhiteSpace(Endpoint) && (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps))
        {
            yield return new ValidationResult($"Identity:AppLogins:Table:Endpoint '{Endpoint}' must be an absolute https URL.");
        }
        if (IsConfigured && string.IsNullOrWhiteSpace(TableName))
        {
            yield return new ValidationResult("Identity:AppLogins:Table:TableName is required.");
        }
    }
}
