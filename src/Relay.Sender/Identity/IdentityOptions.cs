using System.ComponentModel.DataAnnotations;

namespace Relay.Sender.Identity;

/// <summary>Configuration section <c>Identity</c>: who may log in over SMTP, and as whom they may send.</summary>
public sealed class IdentityOptions : IValidatableObject
{
    public const string SectionName = "Identity";

    /// <summary>Relay accounts by login name (<c>Identity:Accounts:NAME</c>). Login names are case-insensitive.</summary>
    public Dictionary<string, RelayAccountOptions> Accounts { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The account whose senders and mailbox apply to clients that send without AUTH (from <c>Smtp:Anonymous:AllowedNetworks</c>).</summary>
    public string? AnonymousAccount { get; set; }

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
