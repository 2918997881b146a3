using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.Extensions.Options;
using Relay.Smtp.Protocol;
using Relay.Smtp.Tls;

namespace Relay.Smtp;

/// <summary>Configuration section <c>Smtp</c>: the listener and the limits of every SMTP session.</summary>
public sealed class SmtpOptions : IValidatableObject
{
    public const string SectionName = "Smtp";

    /// <summary>Plain SMTP / submission port. 2525 so nothing needs root; Container Apps maps 25 or 587 to it. 0 picks a free port (tests).</summary>
    [Range(0, 65535, ErrorMessage = "Smtp:Port must be between 0 and 65535.")]
    public int Port { get; set; } = 2525;

    /// <summary>Implicit-TLS submission port (RFC 8314 §3.3; 465 outside a container). Off when unset; needs a certificate in <c>Smtp:Tls</c>.</summary>
    [Range(0, 65535, ErrorMessage = "Smtp:ImplicitTlsPort must be between 0 and 65535.")]
    public int? ImplicitTlsPort { get; set; }

    /// <summary>
    /// HTTP port for <c>/health</c> (ready once the SMTP listeners are bound) and <c>/alive</c>, on <c>Smtp:BindAddress</c>.
    /// Off when unset. 0 picks a free port (tests).
    /// </summary>
    [Range(0, 65535, ErrorMessage = "Smtp:HealthPort must be between 0 and 65535.")]
    public int? HealthPort { get; set; }

    /// <summary>Address to bind. Loopback by default; containers set 0.0.0.0.</summary>
    [Required(ErrorMessage = "Smtp:BindAddress is required.")]
    public string BindAddress { get; set; } = "127.0.0.1";

    /// <summary>Name in the greeting, the EHLO reply and Relay's Received: header.</summary>
    [Required(ErrorMessage = "Smtp:ServerName is required.")]
    public string ServerName { get; set; } = Dns.GetHostName();

    /// <summary>Advertised in SIZE and enforced on the bytes received. Default 35 MiB: Exchange Online's default message size limit.</summary>
    [Range(1024, 150L * 1024 * 1024, ErrorMessage = "Smtp:MaxMessageSize must be between 1 KiB and 150 MiB (Exchange Online's ceiling).")]
    public long MaxMessageSize { get; set; } = 35L * 1024 * 1024;

    /// <summary>Recipients per message: Graph's limit is 500 (message resource, "recipients … at most 500").</summary>
    [Range(1, 500, ErrorMessage = "Smtp:MaxRecipients must be between 1 and 500 (Graph's per-message limit).")]
    public int MaxRecipients { get; set; } = 500;

    /// <summary>Concurrent sessions; one more is answered 421 and closed.</summary>
    [Range(1, 100_000, ErrorMessage = "Smtp:MaxConnections must be between 1 and 100000.")]
    public int MaxConnections { get; set; } = 1000;

    /// <summary>Concurrent sessions from one client address.</summary>
    [Range(1, 100_000, ErrorMessage = "Smtp:MaxConnectionsPerAddress must be between 1 and 100000.")]
    public int MaxConnectionsPerAddress { get; set; } = 100;

    /// <summary>Longest command line, CRLF included: 512 octets (RFC 5321 §4.5.3.1.4); raise only for broken devices.</summary>
    [Range(512, 65536, ErrorMessage = "Smtp:MaxCommandLineLength must be between 512 and 65536.")]
    public int MaxCommandLineLength { get; set; } = 512;

    /// <summary>Longest line of message text, CRLF included: 1000 octets (RFC 5321 §4.5.3.1.6); raise only for broken devices.</summary>
    [Range(1000, 1024 * 1024, ErrorMessage = "Smtp:MaxTextLineLength must be between 1000 and 1048576.")]
    public int MaxTextLineLength { get; set; } = 1000;

    /// <summary>Longest AUTH continuation line: 12288 octets (RFC 4954 §4).</summary>
    [Range(512, 65536, ErrorMessage = "Smtp:MaxAuthLineLength must be between 512 and 65536.")]
    public int MaxAuthLineLength { get; set; } = 12288;

    /// <summary>Waiting for a command: at least 5 minutes (RFC 5321 §4.5.3.2.7).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Smtp:CommandTimeout must be between 1 second and 1 hour.")]
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Waiting for the next block of DATA: the client's own limit is 3 minutes (RFC 5321 §4.5.3.2.5); we allow 5.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Smtp:DataTimeout must be between 1 second and 1 hour.")]
    public TimeSpan DataTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Slowest average rate for message content once <see cref="MinDataRateGracePeriod"/> has passed, against clients
    /// that trickle bytes to hold a connection (slowloris). 240 bytes/s is Kestrel's floor for request bodies; 0 turns it off.
    /// </summary>
    [Range(0, 1_000_000, ErrorMessage = "Smtp:MinDataRate must be between 0 and 1000000 bytes per second.")]
    public int MinDataRate { get; set; } = 240;

    /// <summary>How long content may arrive slower than <see cref="MinDataRate"/> before it counts.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Smtp:MinDataRateGracePeriod must be between 0 and 10 minutes.")]
    public TimeSpan MinDataRateGracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Longest session. A client that keeps one connection longer is told 421 between transactions and reconnects,
    /// which bounds what one connection can hold on to. RFC 5321 sets no limit; an hour lets a batch job send thousands.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00", ErrorMessage = "Smtp:MaxSessionDuration must be between 10 seconds and 1 day.")]
    public TimeSpan MaxSessionDuration { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Waiting for Relay.Sender's verdict after the final dot. Clients wait 10 minutes (RFC 5321 §4.5.3.2.6), so this stays below.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:09:00", ErrorMessage = "Smtp:SubmissionTimeout must be between 1 second and 9 minutes.")]
    public TimeSpan SubmissionTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Protocol errors in one session before it is closed with 421 (Postfix's smtpd_hard_error_limit is 20).</summary>
    [Range(1, 1000, ErrorMessage = "Smtp:MaxBadCommands must be between 1 and 1000.")]
    public int MaxBadCommands { get; set; } = 20;

    /// <summary>
    /// Failed logins from one client address (an IPv6 /64 counts as one) before it is locked out (Postfix's anvil
    /// and Exchange's defaults are in this range). 0 turns the lockout off.
    /// </summary>
    [Range(0, 1000, ErrorMessage = "Smtp:AuthFailureLimit must be between 0 and 1000.")]
    public int AuthFailureLimit { get; set; } = 5;

    /// <summary>How long a locked-out address must wait, and how long a failure is remembered.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Smtp:AuthLockoutDuration must be between 1 second and 1 day.")]
    public TimeSpan AuthLockoutDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Pause before a failed login is answered (tarpitting), so guessing is slow even below the limit.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30", ErrorMessage = "Smtp:AuthFailureDelay must be between 0 and 30 seconds.")]
    public TimeSpan AuthFailureDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// On shutdown (SIGTERM), how long transactions in flight may take to finish before connections are closed.
    /// Azure Container Apps waits 30 s before it kills a replica, so the default leaves room for the rest of the stop.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Smtp:ShutdownGracePeriod must be between 0 and 10 minutes.")]
    public TimeSpan ShutdownGracePeriod { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>What a bare LF in message content does.</summary>
    public BareLineFeedHandling BareLineFeed { get; set; } = BareLineFeedHandling.Normalize;

    /// <summary>CIDR networks whose clients may connect at all. Empty: any address (the listener's bind address still applies).</summary>
    public List<string> AllowedNetworks { get; set; } = [];

    /// <summary>Clients that may send without AUTH.</summary>
    public AnonymousOptions Anonymous { get; set; } = new();

    /// <summary>STARTTLS, implicit TLS and when TLS is required.</summary>
    [ValidateObjectMembers]
    public TlsOptions Tls { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!IPAddress.TryParse(BindAddress, out _))
        {
            yield return new ValidationResult($"Smtp:BindAddress '{BindAddress}' is not an IP address.", [nameof(BindAddress)]);
        }
        foreach (var result in ValidateNetworks("Smtp:AllowedNetworks", AllowedNetworks)
                     .Concat(ValidateNetworks("Smtp:Anonymous:AllowedNetworks", Anonymous.AllowedNetworks)))
        {
            yield return result;
        }
        if (ImplicitTlsPort is not null && !Tls.HasCertificate)
        {
            yield return new ValidationResult(
                "Smtp:ImplicitTlsPort needs a certificate: set Smtp:Tls:CertificatePath or Smtp:Tls:KeyVaultCertificateName.", [nameof(ImplicitTlsPort)]);
        }
        if (HealthPort is { } healthPort && healthPort != 0 && (healthPort == Port || healthPort == ImplicitTlsPort))
        {
            yield return new ValidationResult(
                $"Smtp:HealthPort {healthPort} is the same as an SMTP port.", [nameof(HealthPort)]);
        }
        if (ImplicitTlsPort is { } implicitPort && implicitPort != 0 && implicitPort == Port)
        {
            yield return new ValidationResult(
                $"Smtp:ImplicitTlsPort {implicitPort} is the same as Smtp:Port.", [nameof(ImplicitTlsPort)]);
        }
    }

    private static IEnumerable<ValidationResult> ValidateNetworks(string key, List<string> networks) =>
        networks.Where(network => !IPNetwork.TryParse(network, out _))
            .Select(network => new ValidationResult(
                $"{key} entry '{network}' is not a CIDR network such as 192.168.10.0/24.", [key]));
}

public sealed class AnonymousOptions
{
    /// <summary>CIDR networks whose clients may send without AUTH (printers that cannot log in). Empty: nobody.</summary>
    public List<string> AllowedNetworks { get; set; } = [];
}

public sealed class SmtpOptionsValidator : DataAnnotationsOptionsValidator<SmtpOptions>;
