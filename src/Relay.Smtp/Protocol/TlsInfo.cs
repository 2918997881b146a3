using System.Net.Security;
using System.Security.Authentication;

namespace Relay.Smtp.Protocol;

/// <summary>What a TLS session negotiated, in the words of a Received: header ("TLSv1.3", the IANA cipher suite name).</summary>
public sealed record TlsInfo(string Protocol, string CipherSuite)
{
    public static TlsInfo From(SslStream stream) => new(ProtocolName(stream.SslProtocol), stream.NegotiatedCipherSuite.ToString());

    private static string ProtocolName(SslProtocols protocol) => protocol switch
    {
        SslProtocols.Tls13 => "TLSv1.3",
        SslProtocols.Tls12 => "TLSv1.2",
        _ => protocol.ToString(),
    };
}
