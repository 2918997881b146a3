using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Relay.Sender.Identity;

/// <summary>
/// Relay account password hashes: <c>pbkdf2-sha256$ITERATIONS$SALT$HASH</c> — PBKDF2-HMAC-SHA256 over the UTF-8
/// password, SALT and HASH in standard base64, HASH 32 bytes. Any tool that can do PBKDF2 can make one.
/// </summary>
public sealed class PasswordHash
{
    public const string Scheme = "pbkdf2-sha256";

    /// <summary>OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.</summary>
    public const int DefaultIterations = 600_000;

    /// <summary>Lower counts are refused at start-up: they make offline guessing cheap.</summary>
    public const int MinimumIterations = 100_000;

    private const int HashLength = 32;
    private const int SaltLength = 16;

    private readonly byte[] _salt;
    private readonly byte[] _hash;

    private PasswordHash(int iterations, byte[] salt, byte[] hash)
    {
        Iterations = iterations;
        _salt = salt;
        _hash = hash;
    }

    public int Iterations { get; }

    public static PasswordHash Create(string password, int iterations = DefaultIterations)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltLength);
        return new PasswordHash(iterations, salt, Derive(password, salt, iterations));
    }

    public static bool TryParse(string? text, out PasswordHash hash, out string error)
    {
        hash = null!;
        var parts = text?.Split('$') ?? [];
        if (parts.Length != 4 || parts[0] != Scheme)
        {
            error = $"expected {Scheme}$ITERATIONS$SALT$HASH";
            return false;
        }
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations) || iterations < MinimumIterations)
        {
            error = $"ITERATIONS must be a whole number of at least {MinimumIterations}";
            return false;
        }
        byte[] salt, derived;
        try
        {
            salt = Convert.FromBase64String(parts[2]);
            derived = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            error = "SALT and HASH must be standard base64";
            return false;
        }
        if (salt.Length < 8 || derived.Length != HashLength)
        {
            error = $"SALT must be at least 8 bytes and HASH exactly {HashLength} bytes";
            return false;
        }
        hash = new PasswordHash(iterations, salt, derived);
        error = string.Empty;
        return true;
    }

    /// <summary>Derives the hash of <paramref name="password"/> and compares in constant time.</summary>
    public bool Verify(string password) =>
        CryptographicOperations.FixedTimeEquals(Derive(password, _salt, Iterations), _hash);

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Scheme}${Iterations}${Convert.ToBase64String(_salt)}${Convert.ToBase64String(_hash)}");

    private static byte[] Derive(string password, byte[] salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashLength);
}
