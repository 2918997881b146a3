using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Relay.Sender.Identity.Tokens;

/// <summary>
/// Names one credential in the <see cref="LoginTokenCache"/>: an HMAC-SHA256, under a key that lives only in this
/// process, of everything the credential is made of — its kind, tenant, client or user, and the secret or password.
/// A different password is a different key, so a token obtained with the right password never answers for a wrong one;
/// and the cache holds no secret, nor a plain hash of one that could be guessed offline.
/// </summary>
public readonly record struct CredentialKey
{
    private static readonly byte[] ProcessKey = RandomNumberGenerator.GetBytes(32);

    private CredentialKey(string value, string description)
    {
        Value = value;
        Description = description;
    }

    public string Value { get; }

    /// <summary>The credential's public part (kind, tenant, client or user) for logs; never the secret.</summary>
    public string Description { get; }

    public static CredentialKey For(string kind, string tenant, string principal, string secret)
    {
        var material = Encoding.UTF8.GetBytes(string.Join('\0', kind, tenant.ToLowerInvariant(), principal.ToLowerInvariant(), secret));
        try
        {
            return new CredentialKey(Base64Url.EncodeToString(HMACSHA256.HashData(ProcessKey, material)), $"{kind} {principal} in {tenant}");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    /// <summary>Two keys are the same credential when their HMACs are equal; the description is only for reading.</summary>
    public bool Equals(CredentialKey other) => string.Equals(Value, other.Value, StringComparison.Ordinal);

    public override int GetHashCode() => Value?.GetHashCode(StringComparison.Ordinal) ?? 0;

    public override string ToString() => Description;
}
