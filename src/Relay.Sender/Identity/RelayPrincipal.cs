using Azure.Core;

namespace Relay.Sender.Identity;

/// <summary>The four kinds of SMTP sender Relay knows (DESIGN.md, "Who may send, as whom"), in the order logins are tried.</summary>
public enum LoginKind
{
    /// <summary><c>Identity:Accounts</c>: a PBKDF2-hashed password; sends with Relay's own app identity.</summary>
    RelayAccount,
    /// <summary><c>TENANT@CLIENT</c> or <c>KEY@lookup</c> with that app's client secret; sends as that app.</summary>
    AppCredential,
    /// <summary>A user's UPN and password (ROPC); sends as that user.</summary>
    Mailbox,
    /// <summary>No AUTH, from <c>Smtp:Anonymous:AllowedNetworks</c>; sends as <c>Identity:AnonymousAccount</c>.</summary>
    Anonymous,
}

/// <summary>A verified sender: who it is, which senders Relay lets it use, and its fixed mailbox if any.</summary>
/// <param name="Name">The login as Relay names it in logs and the Received: field (never a secret).</param>
/// <param name="AllowedSenders">
/// Addresses and <c>*@domain</c> patterns it may use as From and MAIL FROM; null when Microsoft 365 alone decides (an app
/// or a user signing in with its own credentials can send only as what Entra and Exchange allow it to).
/// </param>
/// <param name="Mailbox">When set, mail goes out through this mailbox whatever the message says.</param>
public sealed record RelayPrincipal(string Name, LoginKind Kind, IReadOnlyList<string>? AllowedSenders, string? Mailbox)
{
    /// <summary>The credential Graph is called with; null for Relay's own app identity.</summary>
    public TokenCredential? Credential { get; init; }
}
