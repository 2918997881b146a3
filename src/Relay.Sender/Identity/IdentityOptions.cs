using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Relay.Sender.Identity.AppLogins;

namespace Relay.Sender.Identity;

/// <summary>Configuration section <c>Identity</c>: who may log in over SMTP, and as whom they may send.</summary>
public sealed class IdentityOptions : IValidatableObject
{
    public const string SectionName = "Identity";

    /// <summary>Relay accounts by login name (<c>Identity:Accounts:NAME</c>). Login names are case-insensitive.</summary>
    public Dictionary<string, RelayAccountOptions> Accounts { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The account whose senders and mailbox apply to clients that send without AUTH (from <c>Smtp:Anonymous:AllowedNetworks</c>).</summary>
    public string? AnonymousAccount { get; set; }

    /// <summary>Logins that are an app registration's own credentials (<c>TENANT@CLIENT</c> + client secret).</summary>
    [ValidateObjectMembers]
    public AppLoginOptions AppLogins { get; set; } = new();

    /// <summary>Logins that are a Microsoft 365 user's own UPN and password (ROPC through Relay's app).</summary>
    [ValidateObjectMembers]
    public MailboxLoginOptions MailboxLogins { get; set; } = new();

    /// <summary>Tokens obtained for app-credential and mailbox logins.</summary>
    [ValidateObjectMembers]
    public TokenCacheOptions TokenCache { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (name, account) in Accounts)
        {
            var key = $"Identity:Accounts:{name}";
            if (!PasswordHash.TryParse(account.PasswordHash, out _, out var error))
            {
                yield return new ValidationResult($"{key}:PasswordHash is not a valid hash ({error}). Make one with 'Relay.Sender hash-password'.");
            }
            if (account.AllowedSenders.Count == 0)
            {
                yield return new ValidationResult($"{key}:AllowedSenders must list at least one address or *@domain.");
            }
            foreach (var sender in account.AllowedSenders.Where(s => !SenderPattern.IsValid(s)))
            {
                yield return new ValidationResult($"{key}:AllowedSenders entry '{sender}' is neither an address nor *@domain.");
            }
            if (account.Mailbox is { Length: > 0 } mailbox && !SenderPattern.IsAddress(mailbox))
            {
                yield return new ValidationResult($"{key}:Mailbox '{mailbox}' is not an address.");
            }
        }
        if (AnonymousAccount is { Length: > 0 } anonymous && !Accounts.ContainsKey(anonymous))
        {
            yield return new ValidationResult($"Identity:AnonymousAccount '{anonymous}' is not one of Identity:Accounts.");
        }
    }
}

/// <summary>
/// <c>Identity:MailboxLogins</c>: username = a user's UPN, password = that user's password, exchanged for a delegated
/// token with the resource-owner password grant through Relay's app (<c>Graph:TenantId</c>, <c>Graph:ClientId</c>); mail
/// is sent as that user. Entra refuses it for users with MFA or Conditional Access, and the client is told so.
/// </summary>
public sealed class MailboxLoginOptions : IValidatableObject
{
    public bool Enabled { get; set; }

    /// <summary>When not empty, only UPNs in these domains are tried against Entra; others are refused at once.</summary>
    public List<string> Domains { get; set; } = [];

    /// <summary>
    /// A separate app registration with "Allow public client flows" for these sign-ins. Without it Relay's own app
    /// (<c>Graph:ClientId</c>) signs users in: as a confidential client when it has a client secret, else as a public client.
    /// </summary>
    public string? ClientId { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var domain in Domains.Where(d => string.IsNullOrWhiteSpace(d) || d.Contains('@') || d.Any(char.IsWhiteSpace)))
        {
            yield return new ValidationResult($"Identity:MailboxLogins:Domains entry '{domain}' is not a domain name.");
        }
        if (!string.IsNullOrEmpty(ClientId) && !Guid.TryParse(ClientId, out _))
        {
            yield return new ValidationResult("Identity:MailboxLogins:ClientId must be a GUID (the application/client ID).");
        }
    }
}

/// <summary><c>Identity:TokenCache</c>: tokens per credential, so a busy device costs one token request per token lifetime.</summary>
public sealed class TokenCacheOptions
{
    /// <summary>Credentials remembered at once; beyond it the entries closest to expiry make room. Each is a few hundred bytes.</summary>
    [Range(16, 1_000_000, ErrorMessage = "Identity:TokenCache:MaxEntries must be between 16 and 1000000.")]
    public int MaxEntries { get; set; } = 10_000;

    /// <summary>
    /// A token is renewed this long before it expires (Entra tokens live 60–90 minutes), so no message is sent with
    /// one that expires on the way.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:30", "00:30:00", ErrorMessage = "Identity:TokenCache:RefreshBeforeExpiry must be between 30 seconds and 30 minutes.")]
    public TimeSpan RefreshBeforeExpiry { get; set; } = TimeSpan.FromMinutes(5);
}

public sealed class RelayAccountOptions
{
    /// <summary><c>pbkdf2-sha256$ITERATIONS$SALT$HASH</c>; never a plaintext password.</summary>
    public string PasswordHash { get; set; } = string.Empty;

    /// <summary>Addresses and <c>*@domain</c> patterns this account may use as From and MAIL FROM.</summary>
    public List<string> AllowedSenders { get; set; } = [];

    /// <summary>When set, mail is always sent through this mailbox whatever the message says.</summary>
    public string? Mailbox { get; set; }
}

public sealed class IdentityOptionsValidator : DataAnnotationsOptionsValidator<IdentityOptions>;
