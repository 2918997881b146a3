using Microsoft.Extensions.Logging;
using Relay.Smtp.Delivery;
using Relay.Smtp.Policy;
using Relay.Smtp.Tls;

namespace Relay.Smtp.Protocol;

/// <summary>What every session of one server shares: its options, its policies and the way on to Relay.Sender.</summary>
public sealed class SmtpServerContext(
    SmtpOptions options,
    ISenderClient sender,
    NetworkPolicy networkPolicy,
    AuthFailureThrottle authFailures,
    ServerCertificate? certificate,
    TimeProvider time,
    ILogger logger,
    SmtpCommandSet? commands = null)
{
    public SmtpOptions Options { get; } = options;
    public ISenderClient Sender { get; } = sender;
    public NetworkPolicy NetworkPolicy { get; } = networkPolicy;
    public AuthFailureThrottle AuthFailures { get; } = authFailures;

    /// <summary>The TLS certificate, or null when none is configured (no STARTTLS, no implicit TLS).</summary>
    public ServerCertificate? Certificate { get; } = certificate is { IsConfigured: true } ? certificate : null;
    public TimeProvider Time { get; } = time;
    public ILogger Logger { get; } = logger;
    public SmtpCommandSet Commands { get; } = commands ?? SmtpCommandSet.Default;
}
