namespace Relay.Smtp.Tests;

/// <summary><c>Smtp:HealthPort</c>: off by default, and never one of the SMTP ports.</summary>
public class HealthPortValidationTests
{
    [Fact]
    public void HealthPortIsOffByDefault() => Assert.Null(new SmtpOptions().HealthPort);

    [Theory]
    [InlineData(2525, null, 2525)]
    [InlineData(2525, 4650, 4650)]
    public void AHealthPortThatIsAnSmtpPortFailsNamingTheKey(int port, int? implicitTlsPort, int healthPort)
    {
        var options = new SmtpOptions { Port = port, HealthPort = healthPort };
        if (implicitTlsPort is { } implicitPort)
        {
            options.ImplicitTlsPort = implicitPort;
            options.Tls.KeyVaultCertificateName = "relay-smtp-tls";
        }

        var result = new SmtpOptionsValidator().Validate(null, options);

        Assert.False(result.Succeeded);
        Assert.Contains($"Smtp:HealthPort {healthPort} is the same as an SMTP port", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(70000, "Smtp:HealthPort must be between 0 and 65535")]
    public void AHealthPortOutOfRangeFailsNamingTheKey(int healthPort, string expected)
    {
        var result = new SmtpOptionsValidator().Validate(null, new SmtpOptions { HealthPort = healthPort });

        Assert.False(result.Succeeded);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void AFreeHealthPortIsValid() =>
        Assert.True(new SmtpOptionsValidator().Validate(null, new SmtpOptions { HealthPort = 8025 }).Succeeded);
}
