using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Relay.Sender.Delivery.Graph;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>
/// Relay.Sender configured from Key Vault (<c>ConnectionStrings:secrets</c>, secrets named <c>Section--Key</c>), the point
/// of which is that Relay's app secret lives only in the vault: SMTP in, Graph out, with the secret read from the fake vault.
/// </summary>
public class KeyVaultConfigurationTests
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task TheGraphClientSecretOnlyInKeyVaultDeliversAMessageEndToEnd()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.SetSecret("Graph--ClientSecret", RelayStack.GraphClientSecret);
        await using var stack = await StartAsync(cloud, new Dictionary<string, string?> { ["Graph:ClientSecret"] = null });

        var response = await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com"));

        Assert.StartsWith("2.0.0", response, StringComparison.Ordinal);
        Assert.Equal("scanner@contoso.com", Assert.Single(cloud.SentMail).Mailbox);
        Assert.Contains(stack.Logs, line => line.Contains($"Configuration from Key Vault {cloud.KeyVaultUri}: 1 settings (Graph:ClientSecret)", StringComparison.Ordinal));
        AssertNoSecretLogged(stack, RelayStack.GraphClientSecret);
    }

    [Fact]
    public async Task KeyVaultWinsOverTheServicesOwnSettings()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.SetSecret("Graph--ClientSecret", RelayStack.GraphClientSecret);
        await using var stack = await StartAsync(cloud, new Dictionary<string, string?> { ["Graph:ClientSecret"] = "stale-secret-in-settings" });

        var response = await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com"));

        Assert.StartsWith("2.0.0", response, StringComparison.Ordinal);
        Assert.Equal(RelayStack.GraphClientSecret, stack.Sender.Services.GetRequiredService<IOptionsMonitor<GraphOptions>>().CurrentValue.ClientSecret);
    }

    [Fact]
    public async Task ANewVersionOfASecretIsUsedForDeliveryWithoutARestart()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.SetSecret("Graph--ClientSecret", RelayStack.GraphClientSecret);
        await using var stack = await StartAsync(cloud, new Dictionary<string, string?>
        {
            ["Graph:ClientSecret"] = null,
            ["KeyVault:RefreshInterval"] = "00:00:01",
        });
        var monitor = stack.Sender.Services.GetRequiredService<IOptionsMonitor<GraphOptions>>();
        var before = monitor.CurrentValue.ClientSecret;

        const string rotated = "rotated-app-secret-value";
        cloud.SetSecret("Graph--ClientSecret", rotated);
        await WaitUntilAsync(() => monitor.CurrentValue.ClientSecret == rotated);
        // Entra now knows only the new secret and has forgotten every token: delivery works only with the new value.
        cloud.RegisterApp(RelayStack.GraphTenantId, RelayStack.GraphClientId, rotated);
        cloud.RevokeTokens();
        var response = await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com"));

        Assert.StartsWith("2.0.0", response, StringComparison.Ordinal);

        Assert.Equal(RelayStack.GraphClientSecret, before);
        Assert.Contains(stack.Logs, line => line.Contains($"Configuration from Key Vault {cloud.KeyVaultUri} changed: Graph:ClientSecret", StringComparison.Ordinal));
        AssertNoSecretLogged(stack, RelayStack.GraphClientSecret, rotated);
    }

    [Fact]
    public async Task AFailedRefreshKeepsTheValuesInUseAndLogsAWarning()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.SetSecret("Graph--ClientSecret", RelayStack.GraphClientSecret);
        await using var stack = await StartAsync(cloud, new Dictionary<string, string?>
        {
            ["Graph:ClientSecret"] = null,
            ["KeyVault:RefreshInterval"] = "00:00:01",
        });
        var configuration = stack.Sender.Services.GetRequiredService<IConfiguration>();

        cloud.KeyVaultFault = _ => KeyVaultFault.ForbiddenByRbac();
        const string hidden = "value-behind-a-refusal";
        cloud.SetSecret("Graph--ClientSecret", hidden);
        await WaitUntilAsync(() => stack.Logs.Any(line => line.StartsWith("Warning", StringComparison.Ordinal)
            && line.Contains($"Configuration could not be read again from Key Vault {cloud.KeyVaultUri}; the values in use stay", StringComparison.Ordinal)
            && line.Contains("(HTTP 403, Forbidden)", StringComparison.Ordinal)));
        var whileRefused = configuration["Graph:ClientSecret"];
        var deliveredWhileRefused = await SmtpClients.SendWithMailKitAsync(stack.SmtpPort, SmtpClients.Message("scanner@contoso.com", "alice@fabrikam.com"));

        cloud.KeyVaultFault = null;
        await WaitUntilAsync(() => configuration["Graph:ClientSecret"] == hidden);

        Assert.Equal(RelayStack.GraphClientSecret, whileRefused);
        Assert.StartsWith("2.0.0", deliveredWhileRefused, StringComparison.Ordinal);
        AssertNoSecretLogged(stack, RelayStack.GraphClientSecret, hidden);
    }

    [Fact]
    public async Task AVaultThatRefusesAccessAtStartUpStopsTheSenderNamingTheKey()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.SetSecret("Graph--ClientSecret", RelayStack.GraphClientSecret);
        cloud.KeyVaultFault = _ => KeyVaultFault.ForbiddenByRbac();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(cloud, new Dictionary<string, string?> { ["Graph:ClientSecret"] = null }));

        Assert.Contains("ConnectionStrings:secrets", error.Message, StringComparison.Ordinal);
        Assert.Contains("(HTTP 403, Forbidden)", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(RelayStack.GraphClientSecret, error.ToString(), StringComparison.Ordinal);
        Assert.Empty(cloud.SentMail);
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("2.00:00:00")]
    public async Task ARefreshIntervalOutOfRangeFailsAtStartNamingTheKey(string interval)
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(cloud, new Dictionary<string, string?>
        {
            ["KeyVault:RefreshInterval"] = interval,
        }));

        Assert.Contains("KeyVault:RefreshInterval must be between 1 second and 1 day.", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Relay.Sender delivering to the fake Graph, with its configuration also read from the fake vault.</summary>
    private static Task<RelayStack> StartAsync(FakeMicrosoftCloud cloud, Dictionary<string, string?> senderSettings)
    {
        senderSettings["ConnectionStrings:secrets"] = cloud.KeyVaultUri.ToString();
        return RelayStack.StartAsync(cloud, senderSettings, configureKeyVault: KeyVaultReader.Settings(cloud));
    }

    private static void AssertNoSecretLogged(RelayStack stack, params string[] values)
    {
        Assert.NotEmpty(stack.Logs);
        foreach (var value in values.Append(KeyVaultReader.ClientSecret))
        {
            Assert.DoesNotContain(stack.Logs, line => line.Contains(value, StringComparison.Ordinal));
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Not reached within {WaitLimit.TotalSeconds} s.");
            await Task.Delay(100);
        }
    }
}
