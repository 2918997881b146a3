using System.Text;
using System.Web;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Microsoft.Graph;
using Microsoft.Graph.Authentication;
using Microsoft.Graph.Models.ODataErrors;
using Microsoft.Graph.Users.Item.SendMail;
using Microsoft.Kiota.Abstractions.Serialization;
using Microsoft.Kiota.Http.HttpClientLibrary.Middleware.Options;
using Relay.Testing;

namespace Relay.Sender.Tests.FakeCloud;

/// <summary>The real SDK clients pointed at a <see cref="FakeMicrosoftCloud"/>, and helpers to read what they sent.</summary>
internal static class FakeCloudClients
{
    public static readonly string[] GraphScopes = ["https://graph.microsoft.com/.default"];

    public static readonly byte[] SampleMime = Encoding.ASCII.GetBytes(
        "From: relay@contoso.com\r\nTo: someone@example.com\r\nSubject: Hello\r\nMIME-Version: 1.0\r\n" +
        "Content-Type: text/plain; charset=us-ascii\r\n\r\nHello from the relay.\r\n");

    private static readonly Dictionary<string, ParsableFactory<IParsable>> ODataErrorMapping = new()
    {
        ["XXX"] = ODataError.CreateFromDiscriminatorValue,
    };

    /// <summary>Options for any Azure.Identity credential: the fake's authority, no instance discovery, its trusting transport.</summary>
    public static T Configure<T>(FakeMicrosoftCloud cloud, T options)
        where T : TokenCredentialOptions
    {
        options.AuthorityHost = cloud.AuthorityHost;
        options.Transport = new HttpClientTransport(cloud.CreateTrustingHandler());
        switch (options)
        {
            // Without this MSAL first asks https://login.microsoftonline.com:{port}/common/discovery/instance.
            case ClientCertificateCredentialOptions certificate:
                certificate.DisableInstanceDiscovery = true;
                break;
            case ClientSecretCredentialOptions secret:
                secret.DisableInstanceDiscovery = true;
                break;
#pragma warning disable CS0618 // UsernamePasswordCredential is obsolete (no MFA), and still what a relay's SMTP logins use.
            case UsernamePasswordCredentialOptions password:
#pragma warning restore CS0618
                password.DisableInstanceDiscovery = true;
                break;
        }
        return options;
    }

    /// <summary>A Graph client with the SDK's default middleware (retry, telemetry, …) in front of the fake.</summary>
    public static GraphServiceClient Graph(FakeMicrosoftCloud cloud, TokenCredential credential)
    {
        var authentication = new AzureIdentityAuthenticationProvider(
            credential, allowedHosts: ["127.0.0.1"], observabilityOptions: null, isCaeEnabled: true, scopes: GraphScopes);
        return new GraphServiceClient(GraphClientFactory.Create(finalHandler: cloud.CreateTrustingHandler()), authentication, cloud.GraphBaseUrl);
    }

    /// <summary>MIME sendMail as <c>/users/{mailbox}</c>, with the SDK's retries off.</summary>
    public static Task SendMimeAsync(GraphServiceClient graph, string mailbox)
    {
        var request = graph.Users[mailbox].SendMail.ToPostRequestInformation(new SendMailPostRequestBody());
        request.Headers.Clear();
        request.SetStreamContent(new MemoryStream(Encoding.ASCII.GetBytes(Convert.ToBase64String(SampleMime))), "text/plain");
        request.AddRequestOptions([new RetryHandlerOption { MaxRetry = 0 }]);
        return graph.RequestAdapter.SendNoContentAsync(request, ODataErrorMapping);
    }

    /// <summary>The form fields of a recorded <c>application/x-www-form-urlencoded</c> request.</summary>
    public static Dictionary<string, string> Form(RecordedRequest request)
    {
        var fields = HttpUtility.ParseQueryString(Encoding.UTF8.GetString(request.Body));
        return fields.AllKeys.OfType<string>().ToDictionary(key => key, key => fields[key]!, StringComparer.Ordinal);
    }

    /// <summary>The recorded token requests, in order.</summary>
    public static List<RecordedRequest> TokenRequests(FakeMicrosoftCloud cloud) =>
        cloud.Requests.Where(request => request.Path.EndsWith("/oauth2/v2.0/token", StringComparison.Ordinal)).ToList();
}
