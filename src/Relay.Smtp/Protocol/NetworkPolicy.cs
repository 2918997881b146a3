using System.Net;

namespace Relay.Smtp.Protocol;

/// <summary>Which client addresses may do what, from <see cref="SmtpOptions"/>.</summary>
public sealed class NetworkPolicy(IEnumerable<string> anonymousNetworks)
{
    private readonly IPNetwork[] _anonymous = anonymousNetworks.Select(n => IPNetwork.Parse(n)).ToArray();

    public bool AllowsAnonymous(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        return _anonymous.Any(network => network.Contains(address));
    }
}
