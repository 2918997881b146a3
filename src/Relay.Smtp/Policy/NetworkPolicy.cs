using System.Net;

namespace Relay.Smtp.Policy;

/// <summary>Which client addresses may do what, from <see cref="SmtpOptions"/>.</summary>
public sealed class NetworkPolicy(IEnumerable<string> allowedNetworks, IEnumerable<string> anonymousNetworks)
{
    private readonly IPNetwork[] _allowed = Parse(allowedNetworks);
    private readonly IPNetwork[] _anonymous = Parse(anonymousNetworks);

    public NetworkPolicy(SmtpOptions options) : this(options.AllowedNetworks, options.Anonymous.AllowedNetworks)
    {
    }

    /// <summary>Whether the client may connect at all (<c>Smtp:AllowedNetworks</c>; empty allows everyone).</summary>
    public bool AllowsConnection(IPAddress address) => _allowed.Length == 0 || Contains(_allowed, address);

    /// <summary>Whether the client may send without AUTH (<c>Smtp:Anonymous:AllowedNetworks</c>; empty allows nobody).</summary>
    public bool AllowsAnonymous(IPAddress address) => Contains(_anonymous, address);

    /// <summary>Loopback clients are on this machine: nobody in between can read their traffic.</summary>
    public static bool IsLoopback(IPAddress address) => IPAddress.IsLoopback(Normalize(address));

    private static bool Contains(IPNetwork[] networks, IPAddress address)
    {
        address = Normalize(address);
        return networks.Any(network => network.Contains(address));
    }

    /// <summary>An IPv4 client seen on a dual-stack socket (::ffff:a.b.c.d) as the IPv4 address it is.</summary>
    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static IPNetwork[] Parse(IEnumerable<string> networks) => networks.Select(n => IPNetwork.Parse(n)).ToArray();
}
