using System.Collections.Immutable;
using System.Security.Cryptography.X509Certificates;

namespace Relay.Testing;

/// <summary>
/// An app registration in one tenant: a client secret and/or certificates (public parts) for a confidential client, or
/// "Allow public client flows" for a client that authenticates with no credential at all.
/// </summary>
internal sealed record EntraApplication(string ClientId, string? Secret, ImmutableArray<X509Certificate2> Certificates, bool IsPublicClient)
{
    public static EntraApplication Empty(string clientId) => new(clientId, null, [], IsPublicClient: false);
}
