using Relay.Sender.Hosting;
using Relay.Sender.Identity;

namespace Relay.Sender.Tests.Hosting;

public sealed class HashPasswordCommandTests
{
    private const string Password = "Sc4nner to Mail!";

    private static (int ExitCode, string Output, string Error) Run(string input, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = HashPasswordCommand.Run([HashPasswordCommand.Name, .. args], new StringReader(input), output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public void PrintsAParseableHashThatVerifiesThePasswordReadFromInput()
    {
        var (exitCode, output, error) = Run(Password + "\n", "--iterations", "100000");

        Assert.Equal(0, exitCode);
        Assert.True(PasswordHash.TryParse(output.TrimEnd(), out var hash, out var reason), reason);
        Assert.Equal(100_000, hash.Iterations);
        Assert.True(hash.Verify(Password));
        Assert.False(hash.Verify(Password.ToUpperInvariant()));
        Assert.DoesNotContain(Password, output);
        Assert.DoesNotContain(Password, error);
    }

    [Fact]
    public void PrintsExactlyOneLine()
    {
        var (_, output, _) = Run(Password + "\r\n", "--iterations", "100000");

        Assert.Single(output.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.EndsWith(Environment.NewLine, output);
    }

    [Fact]
    public void UsesTheDefaultIterationsWithoutAnOption()
    {
        var (exitCode, output, _) = Run(Password + "\n");

        Assert.Equal(0, exitCode);
        Assert.True(PasswordHash.TryParse(output.TrimEnd(), out var hash, out var reason), reason);
        Assert.Equal(PasswordHash.DefaultIterations, hash.Iterations);
        Assert.True(hash.Verify(Password));
    }

    [Fact]
    public void ReadsOnlyTheFirstLineAsThePassword()
    {
        var (exitCode, output, _) = Run("first line\nsecond line\n", "--iterations", "100000");

        Assert.Equal(0, exitCode);
        Assert.True(PasswordHash.TryParse(output.TrimEnd(), out var hash, out _));
        Assert.True(hash.Verify("first line"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("\r\n")]
    public void EmptyPasswordIsRefusedWithExitCode1(string input)
    {
        var (exitCode, output, error) = Run(input, "--iterations", "100000");

        Assert.Equal(1, exitCode);
        Assert.Empty(output);
        Assert.Contains("empty", error);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("99999")]
    [InlineData("0")]
    public void TooFewIterationsAreRefusedWithExitCode2(string iterations)
    {
        var (exitCode, output, error) = Run(Password + "\n", "--iterations", iterations);

        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.Contains("100000", error);
        Assert.DoesNotContain(Password, error);
    }

    [Theory]
    [InlineData("--verbose")]
    [InlineData("--iterations")]
    [InlineData("--iterations", "many")]
    [InlineData("--iterations", "-600000")]
    [InlineData("--rounds", "600000")]
    [InlineData("--iterations", "600000", "--verbose")]
    public void UnknownArgumentsAreRefusedWithExitCode2AndUsage(params string[] args)
    {
        var (exitCode, output, error) = Run(Password + "\n", args);

        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.Contains("usage", error);
        Assert.DoesNotContain(Password, error);
    }

    [Fact]
    public void PasswordGivenAsAnArgumentIsRefusedWithoutBeingEchoed()
    {
        var (exitCode, output, error) = Run("", "Hunter2-Secret");

        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.DoesNotContain("Hunter2-Secret", error);
    }
}
