using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Relay.Smtp.Hosting;

/// <summary>
/// The SMTP listeners Kestrel bound. Their endpoints carry the real port once the server has started (port 0 picks
/// a free one), which is what tests and the readiness check read.
/// </summary>
public sealed class SmtpListeners
{
    internal ListenOptions? Plain { get; set; }
    internal ListenOptions? ImplicitTls { get; set; }
    internal ListenOptions? Health { get; set; }

    /// <summary>The plain / STARTTLS endpoint (<c>Smtp:Port</c>).</summary>
    public IPEndPoint? PlainEndPoint => Plain?.IPEndPoint;

    /// <summary>The implicit-TLS endpoint (<c>Smtp:ImplicitTlsPort</c>), or null when it is off.</summary>
    public IPEndPoint? ImplicitTlsEndPoint => ImplicitTls?.IPEndPoint;

    /// <summary>The HTTP health endpoint (<c>Smtp:HealthPort</c>), or null when it is off.</summary>
    public IPEndPoint? HealthEndPoint => Health?.IPEndPoint;
}
