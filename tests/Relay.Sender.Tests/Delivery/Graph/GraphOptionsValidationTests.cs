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
    public void MissingForDeliveryNamesEveryAbsentCredentialKey()
    {
        var missing = new GraphOptions { ClientId = " " }.MissingForDelivery();

        Assert.Equal(["Graph:TenantId", "Graph:ClientId", "Graph:ClientSecret"], missing);
    }

    [Fact]
    public void MissingForDeliveryNamesOnlyWhatIsAbsent()
    {
        var missing = new GraphOptions { TenantId = "contoso.onmicrosoft.com", ClientId = "3f2b9e41-6c0d-4f7a-8e25-91d4b6c7a0e3" }
            .MissingForDelivery();

        Assert.Equal(["Graph:ClientSecret"], missing);
    }

    [Fact]
    public void MissingForDeliveryIsEmptyWhenTheAppRegistrationIsComplete()
    {
        var missing = new GraphOptions { TenantId = "t", ClientId = "c", ClientSecret = "s" }.MissingForDelivery();

        Assert.Empty(missing);
    }
}
