namespace Relay.Testing;

/// <summary>
/// Sends requests for the Azure Instance Metadata Service (<c>http://169.254.169.254/metadata/...</c>), where MSAL asks
/// for managed-identity tokens when no <c>IDENTITY_ENDPOINT</c> is set, to the same path on the fake instead; everything
/// else passes through untouched.
/// </summary>
internal sealed class ImdsRoutingHandler(Uri fake, HttpMessageHandler inner) : DelegatingHandler(inner)
{
    public const string ImdsHost = "169.254.169.254";

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri is { Host: ImdsHost } imds)
        {
            request.RequestUri = new Uri(fake, imds.PathAndQuery);
        }

        return base.SendAsync(request, cancellationToken);
    }
}
