using System.ComponentModel.DataAnnotations;

namespace Relay.Sender.Delivery.Graph;

/// <summary>Which address names the Graph mailbox (<c>/users/{mailbox}/sendMail</c>).</summary>
public enum SenderSource
{
    /// <summary>The From: header: what recipients see. Falls back to MAIL FROM when there is none.</summary>
    From,
    /// <summary>The envelope MAIL FROM. Falls back to From: for the null sender.</summary>
    Envelope,
    /// <summary>The login's fixed <c>Mailbox</c> only.</summary>
    Account,
}

/// <summary>Configuration section <c>Graph</c>: Relay's app registration and how it talks to Microsoft Graph.</summary>
public sealed class GraphOptions : IValidatableObject
{
    public const string SectionName = "Graph";

    /// <summary>Graph endpoint; national clouds use their own (e.g. https://graph.microsoft.us/v1.0).</summary>
    [Required(ErrorMessage = "Graph:BaseUrl is required.")]
    public string BaseUrl { get; set; } = "https://graph.microsoft.com/v1.0";

    /// <summary>Entra ID authority; national clouds use their own (e.g. https://login.microsoftonline.us/).</summary>
    [Required(ErrorMessage = "Graph:AuthorityHost is required.")]
    public string AuthorityHost { get; set; } = "https://login.microsoftonline.com/";

    public string? TenantId { get; set; }
    public string? ClientId { get; set; }

    /// <summary>Client secret of Relay's app registration; from Key Vault as <c>Graph--ClientSecret</c>. Never logged.</summary>
    public string? ClientSecret { get; set; }

    public SenderSource SenderSource { get; set; } = SenderSource.From;

    /// <summary>
    /// Whether Graph keeps a copy in Sent Items. MIME sendMail cannot turn this off (Graph always saves), so false
    /// is reported at start-up rather than silently ignored.
    /// </summary>
    public bool SaveToSentItems { get; set; } = true;

    /// <summary>
    /// Largest raw message sent in one MIME request. Graph refuses requests over 4 MB, and base64 adds a third:
    /// 3,000,000 raw bytes become 4,000,000.
    /// </summary>
    [Range(1024, 3_145_728, ErrorMessage = "Graph:MimeSizeLimit must be between 1 KiB and 3 MiB (Graph's 4 MB request limit after base64).")]
    public int MimeSizeLimit { get; set; } = 3_000_000;

    /// <summary>One Graph request, from sending to the response.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "00:10:00", ErrorMessage = "Graph:RequestTimeout must be between 5 seconds and 10 minutes.")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>True when there is any Graph configuration at all (Auto mode then delivers through Graph).</summary>
    public bool IsConfigured => !string.IsNullOrWhiteSpace(TenantId) || !string.IsNullOrWhiteSpace(ClientId);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Uri.TryCreate(BaseUrl, UriKind.Absolute, out var baseUrl) || baseUrl.Scheme != Uri.UriSchemeHttps)
        {
            yield return new ValidationResult($"Graph:BaseUrl '{BaseUrl}' must be an absolute https URL.");
        }
        if (!Uri.TryCreate(AuthorityHost, UriKind.Absolute, out var authority) || authority.Scheme != Uri.UriSchemeHttps)
        {
            yield return new ValidationResult($"Graph:AuthorityHost '{AuthorityHost}' must be an absolute https URL.");
        }
    }

    /// <summary>The checks that apply only when mail is delivered through Graph.</summary>
    public IEnumerable<string> MissingForDelivery()
    {
        if (string.IsNullOrWhiteSpace(TenantId))
        {
            yield return "Graph:TenantId";
        }
        if (string.IsNullOrWhiteSpace(ClientId))
        {
            yield return "Graph:ClientId";
        }
        if (string.IsNullOrWhiteSpace(ClientSecret))
        {
            yield return "Graph:ClientSecret";
        }
    }
}

public sealed class GraphOptionsValidator : DataAnnotationsOptionsValidator<GraphOptions>;
