using Microsoft.Extensions.Options;
using Relay.Sender.Delivery.Graph;

namespace Relay.Sender.Tests.Delivery.Graph;

public sealed class GraphOptionsValidationTests
{
    private static ValidateOptionsResult Validate(GraphOptions options) =>
        new GraphOptionsValidator().Validate(Options.DefaultName, options);

    /// <summary>The one failure that names <paramref name="key"/>; the validation must have failed.</summary>
    private static string FailureNaming(ValidateOptionsResult result, string key)
    {
        Assert.True(result.Failed);
        return Assert.Single(result.Failures!.Distinct(), f => f.Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public void DefaultGraphOptionsPassValidation()
    {
        var result = Validate(new GraphOptions());

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void NationalCloudEndpointsPassValidation()
    {
        var result = Validate(new GraphOptions
        {
            BaseUrl = "https://graph.microsoft.us/v1.0",
            AuthorityHost = "https://login.microsoftonline.us/",
        });

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Theory]
    [InlineData("http://graph.microsoft.com/v1.0")]
    [InlineData("graph.microsoft.com/v1.0")]
    [InlineData("ftp://graph.microsoft.com/")]
    [InlineData("not a url")]
    public void BaseUrlThatIsNotAbsoluteHttpsIsRefusedNamingGraphBaseUrl(string baseUrl)
    {
        var result = Validate(new GraphOptions { BaseUrl = baseUrl });

        FailureNaming(result, "Graph:BaseUrl");
    }

    [Fact]
    public void EmptyBaseUrlIsRefusedNamingGraphBaseUrl()
    {
        var result = Validate(new GraphOptions { BaseUrl = "" });

        Assert.True(result.Failed);
        Assert.All(result.Failures!, f => Assert.Contains("Graph:BaseUrl", f));
    }

    [Fact]
    public void AuthorityHostThatIsNotHttpsIsRefusedNamingGraphAuthorityHost()
    {
        var result = Validate(new GraphOptions { AuthorityHost = "http://login.microsoftonline.com/" });

        FailureNaming(result, "Graph:AuthorityHost");
    }

    [Theory]
    [InlineData(1023)]
    [InlineData(4_000_000)]
    public void MimeSizeLimitOutsideGraphsRequestLimitIsRefusedNamingItsKey(int limit)
    {
        var result = Validate(new GraphOptions { MimeSizeLimit = limit });

        FailureNaming(result, "Graph:MimeSizeLimit");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3600)]
    public void RequestTimeoutOutsideItsRangeIsRefusedNamingItsKey(int seconds)
    {
        var result = Validate(new GraphOptions { RequestTimeout = TimeSpan.FromSeconds(seconds) });

        FailureNaming(result, "Graph:RequestTimeout");
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("00:09:00")]
    public void RetryBudgetOutsideItsRangeIsRefusedNamingItsKey(string budget)
    {
        var result = Validate(new GraphOptions { RetryBudget = TimeSpan.Parse(budget, System.Globalization.CultureInfo.InvariantCulture) });

        Assert.Contains("Smtp:SubmissionTimeout", FailureNaming(result, "Graph:RetryBudget"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("00:02:00")]
    public void RetryBaseDelayOutsideItsRangeIsRefusedNamingItsKey(string delay)
    {
        var result = Validate(new GraphOptions { RetryBaseDelay = TimeSpan.Parse(delay, System.Globalization.CultureInfo.InvariantCulture) });

        FailureNaming(result, "Graph:RetryBaseDelay");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void MaxConcurrencyPerMailboxAboveOutlooksLimitIsRefusedNamingItsKey(int limit)
    {
        var result = Validate(new GraphOptions { MaxConcurrencyPerMailbox = limit });

        FailureNaming(result, "Graph:MaxConcurrencyPerMailbox");
    }

    [Fact]
    public void AttributeAndSelfValidationProblemsAreReportedTogether()
    {
        var result = Validate(new GraphOptions { BaseUrl = "http://graph.microsoft.com/v1.0", MimeSizeLimit = 10 });

        FailureNaming(result, "Graph:BaseUrl");
        FailureNaming(result, "Graph:MimeSizeLimit");
    }

    [Fact]
    public void EachProblemIsReportedOnce()
    {
        var result = Validate(new GraphOptions { BaseUrl = "http://graph.microsoft.com/v1.0" });

        Assert.True(result.Failed);
        Assert.Single(result.Failures!);
    }

    [Fact]
    public void MissingForDeliveryNamesEveryAbsentKeyAndAskForACredential()
    {
        var missing = new GraphOptions { ClientId = " " }.MissingForDelivery().ToList();

        Assert.Equal(3, missing.Count);
        Assert.Equal(["Graph:TenantId", "Graph:ClientId"], missing.Take(2));
        Assert.Contains("Graph:ClientSecret", missing[2], StringComparison.Ordinal);
        Assert.Contains("Graph:CertificatePath", missing[2], StringComparison.Ordinal);
        Assert.Contains("Graph:Credential=ManagedIdentity", missing[2], StringComparison.Ordinal);
    }

    [Fact]
    public void MissingForDeliveryNamesOnlyWhatIsAbsent()
    {
        var missing = new GraphOptions { TenantId = "contoso.onmicrosoft.com", ClientSecret = "s" }.MissingForDelivery();

        Assert.Equal(["Graph:ClientId"], missing);
    }

    [Fact]
    public void MissingForDeliveryIsEmptyWhenTheAppRegistrationIsComplete()
    {
        var missing = new GraphOptions { TenantId = "t", ClientId = "c", ClientSecret = "s" }.MissingForDelivery();

        Assert.Empty(missing);
    }

    [Fact]
    public void AnExplicitCertificateCredentialWithoutACertificateNamesBothSources()
    {
        var missing = new GraphOptions { TenantId = "t", ClientId = "c", Credential = GraphCredential.Certificate }.MissingForDelivery();

        Assert.Equal(["Graph:CertificatePath or Graph:CertificateName"], missing);
    }

    [Fact]
    public void AnExplicitClientSecretCredentialWithoutTheSecretNamesIt()
    {
        var missing = new GraphOptions { TenantId = "t", ClientId = "c", Credential = GraphCredential.ClientSecret }.MissingForDelivery();

        Assert.Equal(["Graph:ClientSecret"], missing);
    }

    [Fact]
    public void ACertificateCredentialStillNeedsTheAppRegistration()
    {
        using var files = new TemporaryFile();
        var missing = new GraphOptions { CertificatePath = files.Path }.MissingForDelivery();

        Assert.Equal(["Graph:TenantId", "Graph:ClientId"], missing);
    }

    [Fact]
    public void ASystemAssignedManagedIdentityNeedsNoOtherSetting()
    {
        var options = new GraphOptions { Credential = GraphCredential.ManagedIdentity };

        Assert.True(options.IsConfigured);
        Assert.Equal(GraphCredential.ManagedIdentity, options.CredentialKind);
        Assert.Empty(options.MissingForDelivery());
        Assert.True(Validate(options).Succeeded);
    }

    [Fact]
    public void WorkloadIdentityNamesTheStandardVariablesItCouldNotFind()
    {
        var options = new GraphOptions { Credential = GraphCredential.WorkloadIdentity };
        options.UseWorkloadIdentityEnvironment(_ => null);

        Assert.Equal(
            ["Graph:TenantId (or AZURE_TENANT_ID)", "Graph:ClientId (or AZURE_CLIENT_ID)", "Graph:FederatedTokenFile (or AZURE_FEDERATED_TOKEN_FILE)"],
            options.MissingForDelivery());
    }

    [Fact]
    public void WorkloadIdentityTakesTheStandardVariablesWhereGraphLeavesThemEmpty()
    {
        var environment = new Dictionary<string, string?>
        {
            ["AZURE_TENANT_ID"] = "environment-tenant",
            ["AZURE_CLIENT_ID"] = "environment-client",
            ["AZURE_FEDERATED_TOKEN_FILE"] = "/var/run/secrets/azure/tokens/azure-identity-token",
        };
        var options = new GraphOptions { Credential = GraphCredential.WorkloadIdentity, ClientId = "configured-client" };

        options.UseWorkloadIdentityEnvironment(name => environment.GetValueOrDefault(name));

        Assert.Equal("environment-tenant", options.TenantId);
        Assert.Equal("configured-client", options.ClientId);
        Assert.Equal("/var/run/secrets/azure/tokens/azure-identity-token", options.FederatedTokenFile);
        Assert.Empty(options.MissingForDelivery());
    }

    [Theory]
    [InlineData(null)]
    [InlineData(GraphCredential.ManagedIdentity)]
    [InlineData(GraphCredential.ClientSecret)]
    public void OtherCredentialsIgnoreTheWorkloadIdentityVariables(GraphCredential? credential)
    {
        // In Container Apps AZURE_CLIENT_ID names the identity that reads Key Vault; it must not become Relay's app.
        var options = new GraphOptions { Credential = credential };

        options.UseWorkloadIdentityEnvironment(name => "from-" + name);

        Assert.Null(options.TenantId);
        Assert.Null(options.ClientId);
        Assert.Null(options.FederatedTokenFile);
        Assert.False(credential is null && options.IsConfigured);
    }

    [Fact]
    public void TheCredentialIsTheOneWhoseSettingIsPresent()
    {
        using var file = new TemporaryFile();

        Assert.Equal(GraphCredential.ClientSecret, new GraphOptions { ClientSecret = "s" }.CredentialKind);
        Assert.Equal(GraphCredential.Certificate, new GraphOptions { CertificatePath = file.Path }.CredentialKind);
        Assert.Equal(GraphCredential.Certificate, new GraphOptions { CertificateName = "relay-app" }.CredentialKind);
        Assert.Equal(GraphCredential.ManagedIdentity, new GraphOptions { ManagedIdentityClientId = Guid.NewGuid().ToString() }.CredentialKind);
        Assert.Equal(GraphCredential.WorkloadIdentity, new GraphOptions { FederatedTokenFile = file.Path }.CredentialKind);
        Assert.Null(new GraphOptions { TenantId = "t", ClientId = "c" }.CredentialKind);
    }

    [Fact]
    public void ASecretAndACertificateTogetherAreRefusedNamingBothKeys()
    {
        using var file = new TemporaryFile();
        var options = new GraphOptions { TenantId = "t", ClientId = "c", ClientSecret = "s", CertificatePath = file.Path };

        var failure = FailureNaming(Validate(options), "Graph:ClientSecret");

        Assert.Contains("Graph:CertificatePath", failure, StringComparison.Ordinal);
        Assert.Null(options.CredentialKind);
    }

    [Fact]
    public void ThreeCredentialsTogetherAreRefusedNamingEachKey()
    {
        var failure = FailureNaming(Validate(new GraphOptions
        {
            ClientSecret = "s",
            CertificateName = "relay-app",
            ManagedIdentityClientId = Guid.NewGuid().ToString(),
        }), "Graph:ClientSecret");

        Assert.Contains("Graph:CertificateName", failure, StringComparison.Ordinal);
        Assert.Contains("Graph:ManagedIdentityClientId", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(GraphCredential.Certificate, "Graph:ClientSecret")]
    [InlineData(GraphCredential.ClientSecret, "Graph:CertificateName")]
    [InlineData(GraphCredential.ManagedIdentity, "Graph:ClientSecret")]
    [InlineData(GraphCredential.WorkloadIdentity, "Graph:ManagedIdentityClientId")]
    [InlineData(GraphCredential.ClientSecret, "Graph:FederatedTokenFile")]
    public void ASettingOfAnotherCredentialThanTheChosenOneIsRefusedNamingBothKeys(GraphCredential chosen, string key)
    {
        using var file = new TemporaryFile();
        var options = new GraphOptions { Credential = chosen };
        switch (key)
        {
            case "Graph:ClientSecret": options.ClientSecret = "s"; break;
            case "Graph:CertificateName": options.CertificateName = "relay-app"; break;
            case "Graph:ManagedIdentityClientId": options.ManagedIdentityClientId = Guid.NewGuid().ToString(); break;
            case "Graph:FederatedTokenFile": options.FederatedTokenFile = file.Path; break;
        }

        var failure = FailureNaming(Validate(options), key);

        Assert.Contains($"Graph:Credential is {chosen}", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void ACertificateFileAndAKeyVaultCertificateTogetherAreRefusedNamingBothKeys()
    {
        using var file = new TemporaryFile();

        var failure = FailureNaming(Validate(new GraphOptions { CertificatePath = file.Path, CertificateName = "relay-app" }), "Graph:CertificateName");

        Assert.Contains("Graph:CertificatePath", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void ACertificatePathThatDoesNotExistIsRefusedNamingTheKey()
    {
        var failure = FailureNaming(Validate(new GraphOptions { CertificatePath = "/nonexistent/relay-app.pfx" }), "Graph:CertificatePath");

        Assert.Contains("does not exist", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void ACertificateKeyPathThatDoesNotExistIsRefusedNamingTheKey()
    {
        using var file = new TemporaryFile();

        var failure = FailureNaming(Validate(new GraphOptions { CertificatePath = file.Path, CertificateKeyPath = "/nonexistent/key.pem" }), "Graph:CertificateKeyPath");

        Assert.Contains("does not exist", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void ACertificateKeyPathWithoutACertificatePathIsRefusedNamingBothKeys()
    {
        var failure = FailureNaming(Validate(new GraphOptions { CertificateKeyPath = "/etc/relay/key.pem" }), "Graph:CertificateKeyPath");

        Assert.Contains("Graph:CertificatePath", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "Graph:CertificatePath is not")]
    [InlineData("relay-app", "Key Vault hands out certificates without a password")]
    public void ACertificatePasswordWithoutACertificateFileIsRefusedNamingTheKey(string? keyVaultName, string reason)
    {
        var failure = FailureNaming(Validate(new GraphOptions { CertificatePassword = "p", CertificateName = keyVaultName }), "Graph:CertificatePassword");

        Assert.Contains(reason, failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("relay_app")]
    [InlineData("relay.app")]
    public void AKeyVaultCertificateNameKeyVaultCannotHoldIsRefusedNamingTheKey(string name)
    {
        FailureNaming(Validate(new GraphOptions { CertificateName = name }), "Graph:CertificateName");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(90_000)]
    public void CertificateRefreshIntervalOutsideItsRangeIsRefusedNamingItsKey(int seconds)
    {
        FailureNaming(Validate(new GraphOptions { CertificateRefreshInterval = TimeSpan.FromSeconds(seconds) }), "Graph:CertificateRefreshInterval");
    }

    [Fact]
    public void AManagedIdentityClientIdThatIsNotAGuidIsRefusedNamingTheKey()
    {
        var failure = FailureNaming(Validate(new GraphOptions { ManagedIdentityClientId = "relay-identity" }), "Graph:ManagedIdentityClientId");

        Assert.Contains("system-assigned", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void AFederatedTokenFileThatDoesNotExistIsRefusedNamingTheKeyAndItsVariable()
    {
        var options = new GraphOptions { Credential = GraphCredential.WorkloadIdentity };
        options.UseWorkloadIdentityEnvironment(name => name == "AZURE_FEDERATED_TOKEN_FILE" ? "/nonexistent/token" : null);

        var failure = FailureNaming(Validate(options), "Graph:FederatedTokenFile");

        Assert.Contains("AZURE_FEDERATED_TOKEN_FILE", failure, StringComparison.Ordinal);
        Assert.Contains("does not exist", failure, StringComparison.Ordinal);
    }

    /// <summary>An empty file that exists for the duration of a test.</summary>
    private sealed class TemporaryFile : IDisposable
    {
        public string Path { get; } = System.IO.Path.GetTempFileName();

        public void Dispose() => File.Delete(Path);
    }

    [Fact]
    public void QuotedPrintableIsReencodedByDefault()
    {
        Assert.True(new GraphOptions().ReencodeQuotedPrintable);
    }

    [Fact]
    public void HeaderOnlyRecipientsAreDeliveredByDefault()
    {
        Assert.Equal(HeaderOnlyRecipientHandling.Deliver, new GraphOptions().HeaderOnlyRecipients);
    }

    [Fact]
    public void HeaderOnlyRecipientsOutsideDeliverAndRejectIsRefusedNamingTheKey()
    {
        var result = Validate(new GraphOptions { HeaderOnlyRecipients = (HeaderOnlyRecipientHandling)7 });

        FailureNaming(result, "Graph:HeaderOnlyRecipients");
    }
}
