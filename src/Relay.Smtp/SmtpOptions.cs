using System.ComponentModel.DataAnnotations;
using System.Net;
using Relay.Smtp.Protocol;

namespace Relay.Smtp;

/// <summary>Configuration section <c>Smtp</c>: the listener and the limits of every SMTP session.</summary>
public sealed class SmtpOptions : IValidatableObject
{
    public const string SectionName = "Smtp";

    /// <summary>Plain SMTP / submission port. 2525 so nothing needs root; Container Apps maps 25 or 587 to it. 0 picks a free port (tests).</summary>
    [Range(0, 65535, ErrorMessage = "Smtp:Port must be between 0 and 65535.")]
    public int Port { get; set; } = 2525;

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

    /// <summary>Longest AUTH continuation line: 12288 octets (RFC 4954 §4).</summary>
    [Range(512, 65536, ErrorMessage = "Smtp:MaxAuthLineLength must be between 512 and 65536.")]
    public int MaxAuthLineLength { get; set; } = 12288;

    /// <summary>Waiting for a command: at least 5 minutes (RFC 5321 §4.5.3.2.7).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Smtp:CommandTimeout must be between 1 second and 1 hour.")]
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Waiting for the next block of DATA: the client's own limit is 3 minutes (RFC 5321 §4.5.3.2.5); we allow 5.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Smtp:DataTimeout must be between 1 second and 1 hour.")]
    public TimeSpan DataTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Waiting for Relay.Sender's verdict after the final dot. Clients wait 10 minutes (RFC 5321 §4.5.3.2.6), so this stays below.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:09:00", ErrorMessage = "Smtp:SubmissionTimeout must be between 1 second and 9 minutes.")]
    public TimeSpan SubmissionTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Protocol errors in one session before it is closed with 421 (Postfix's smtpd_hard_error_limit is 20).</summary>
    [Range(1, 1000, ErrorMessage = "Smtp:MaxBadCommands must be between 1 and 1000.")]
    public int MaxBadCommands { get; set; } = 20;

    /// <summary>What a bare LF in DATA content does.</summary>
    public BareLineFeedHandling BareLineFeed { get; set; } = BareLineFeedHandling.Normalize;

    /// <summary>Clients that may send without AUTH.</summary>
    public AnonymousOptions Anonymous { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!IPAddress.TryParse(BindAddress, out _))
        {
            yield return new ValidationResult($"Smtp:BindAddress '{BindAddress}' is not an IP address.", [nameof(BindAddress)]);
        }
        foreach (var network in Anonymous.AllowedNetworks)
        {
            if (!IPNetwork.TryParse(network, out _))
            {
                yield return new ValidationResult(
                    $"Smtp:Anonymous:AllowedNetworks entry '{network}' is not a CIDR network such as 192.168.10.0/24.",
                    [nameof(Anonymous)]);
            }
        }
    }
}

public sealed class AnonymousOptions
{
    /// <summary>CIDR networks whose clients may send without AUTH (printers that cannot log in). Empty: nobody.</summary>
    public List<string> AllowedNetworks { get; set; } = [];
}

public sealed class SmtpOptionsValidator : DataAnnotationsOptionsValidator<SmtpOptions>;
