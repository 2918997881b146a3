using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Relay.Sender.Identity;

namespace Relay.Sender.Tests.Identity;

public sealed class PasswordHashTests
{
    private const int Fast = PasswordHash.MinimumIterations;

    [Fact]
    public void CreatedHashPrintsInTheDocumentedFormatAndParsesBackToTheSameValue()
    {
        var created = PasswordHash.Create("correct horse battery staple", Fast);
        var text = created.ToString();

        var match = Regex.Match(text, @"^pbkdf2-sha256\$(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$");
        Assert.True(match.Success, $"'{text}' is not pbkdf2-sha256$ITERATIONS$SALT$HASH");
        Assert.Equal("100000", match.Groups[1].Value);
        Assert.Equal(32, Convert.FromBase64String(match.Groups[3].Value).Length);

        Assert.True(PasswordHash.TryParse(text, out var parsed, out var error), error);
        Assert.Equal(Fast, parsed.Iterations);
        Assert.Equal(text, parsed.ToString());
        Assert.True(parsed.Verify("correct horse battery staple"));
    }

    [Fact]
    public void CreateUsesTheDocumentedDefaultOf600000Iterations()
    {
        var text = PasswordHash.Create("pw").ToString();

        Assert.StartsWith("pbkdf2-sha256$600000$", text);
    }

    [Fact]
    public void TwoHashesOfTheSamePasswordUseDifferentSalts()
    {
        var first = PasswordHash.Create("same password", Fast).ToString();
        var second = PasswordHash.Create("same password", Fast).ToString();

        Assert.NotEqual(first.Split('$')[2], second.Split('$')[2]);
    }

    [Fact]
    public void HashDerivedIndependentlyWithRfc2898DeriveBytesVerifies()
    {
        const string password = "pässwörd ✓";
        var salt = Encoding.ASCII.GetBytes("relay-salt-2024!");
        var derived = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, 120_000, HashAlgorithmName.SHA256, 32);
        var text = $"pbkdf2-sha256$120000${Convert.ToBase64String(salt)}${Convert.ToBase64String(derived)}";

        Assert.True(PasswordHash.TryParse(text, out var hash, out var error), error);
        Assert.True(hash.Verify(password));
        Assert.False(hash.Verify("passwörd ✓"));
        Assert.Equal(text, hash.ToString());
    }

    [Theory]
    // Computed with Python: base64(hashlib.pbkdf2_hmac('sha256', password.encode('utf-8'), salt, iterations, 32)).
    [InlineData("correct horse battery staple", "pbkdf2-sha256$100000$AAECAwQFBgcICQoLDA0ODw==$SdScJfWXhGIJ8Nkud3CrZOHHXpS0zmxQkmXuZxddKh4=")]
    [InlineData("pässwörd ✓", "pbkdf2-sha256$120000$cmVsYXktc2FsdC0yMDI0IQ==$RdUobJeukxeaXrTEQYBNndOsH4ZNHU69vbDl7/OM+ao=")]
    public void HashMadeByAnotherToolVerifies(string password, string text)
    {
        Assert.True(PasswordHash.TryParse(text, out var hash, out var error), error);

        Assert.True(hash.Verify(password));
    }

    [Theory]
    [InlineData("Correct horse battery staple")]
    [InlineData("correct horse battery staple ")]
    [InlineData("correct horse battery")]
    [InlineData("")]
    public void WrongPasswordDoesNotVerify(string wrong)
    {
        var hash = PasswordHash.Create("correct horse battery staple", Fast);

        Assert.False(hash.Verify(wrong));
    }

    private const string Salt16 = "AAECAwQFBgcICQoLDA0ODw==";
    private const string Hash32 = "SdScJfWXhGIJ8Nkud3CrZOHHXpS0zmxQkmXuZxddKh4=";

    [Theory]
    [InlineData(null, "pbkdf2-sha256$ITERATIONS$SALT$HASH")]
    [InlineData("", "pbkdf2-sha256$ITERATIONS$SALT$HASH")]
    [InlineData("hunter2", "pbkdf2-sha256$ITERATIONS$SALT$HASH")]
    [InlineData("pbkdf2-sha1$100000$" + Salt16 + "$" + Hash32, "pbkdf2-sha256$ITERATIONS$SALT$HASH")]
    [InlineData("bcrypt$100000$" + Salt16 + "$" + Hash32, "pbkdf2-sha256$ITERATIONS$SALT$HASH")]
    [InlineData("pbkdf2-sha256$100000$" + Salt16, "pbkdf2-sha256$ITERATIONS$SALT$HASH")]
    [InlineData("pbkdf2-sha256$100000$" + Salt16 + "$" + Hash32 + "$extra", "pbkdf2-sha256$ITERATIONS$SALT$HASH")]
    [InlineData("pbkdf2-sha256$99999$" + Salt16 + "$" + Hash32, "at least 100000")]
    [InlineData("pbkdf2-sha256$1000$" + Salt16 + "$" + Hash32, "at least 100000")]
    [InlineData("pbkdf2-sha256$-600000$" + Salt16 + "$" + Hash32, "at least 100000")]
    [InlineData("pbkdf2-sha256$+600000$" + Salt16 + "$" + Hash32, "at least 100000")]
    [InlineData("pbkdf2-sha256$many$" + Salt16 + "$" + Hash32, "at least 100000")]
    [InlineData("pbkdf2-sha256$99999999999$" + Salt16 + "$" + Hash32, "at least 100000")]
    [InlineData("pbkdf2-sha256$100000$not*base64!$" + Hash32, "base64")]
    [InlineData("pbkdf2-sha256$100000$" + Salt16 + "$SdScJfWXhGIJ8Nkud3CrZOHHXpS0zmxQkmXuZxddKh4", "base64")]
    [InlineData("pbkdf2-sha256$100000$" + Salt16 + "$SdScJfWXhGIJ8Nkud3CrZOHHXpS0zmxQkmXuZxddKh4-_", "base64")]
    [InlineData("pbkdf2-sha256$100000$" + Salt16 + "$SdScJfWXhGIJ8Nkud3CrZOHHXpS0zmxQkmXuZxddKg==", "exactly 32 bytes")] // 31 bytes
    [InlineData("pbkdf2-sha256$100000$" + Salt16 + "$SdScJfWXhGIJ8Nkud3CrZOHHXpS0zmxQkmXuZxddKh4A", "exactly 32 bytes")] // 33 bytes
    [InlineData("pbkdf2-sha256$100000$" + Salt16 + "$", "exactly 32 bytes")]
    [InlineData("pbkdf2-sha256$100000$AAECAw==$" + Hash32, "SALT must be at least 8 bytes")]
    public void MalformedHashIsRejectedWithAReason(string? text, string expectedReason)
    {
        Assert.False(PasswordHash.TryParse(text, out _, out var error));

        Assert.Contains(expectedReason, error);
    }

    [Fact]
    public void TheSmallestAllowedIterationCountIsAccepted()
    {
        Assert.True(PasswordHash.TryParse($"pbkdf2-sha256$100000${Salt16}${Hash32}", out var hash, out var error), error);
        Assert.Equal(100_000, hash.Iterations);
    }
}
