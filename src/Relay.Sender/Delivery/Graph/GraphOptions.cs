using System.ComponentModel.DataAnnotations;

namespace Relay.Sender.Delivery.Graph;

/// <summary>How Relay's own app identity (<c>Graph:Credential</c>) proves itself to Entra ID.</summary>
public enum GraphCredential
{
    /// <summary><c>Graph:ClientSecret</c> of the app registration <c>Graph:TenantId</c>/<c>Graph:ClientId</c>.</summary>
    ClientSecret,
    /// <summary>A certificate uploaded to the app registration: <c>Graph:CertificatePath</c> or <c>Graph:CertificateName</c> (Key Vault).</summary>
    Certificate,
    /// <summary>The host's managed identity: system-assigned, or user-assigned by <c>Graph:ManagedIdentityClientId</c>.</summary>
    ManagedIdentity,
    /// <summary>A federated token file (Kubernetes workload identity): <c>AZURE_FEDERATED_TOKEN_FILE</c>, <c>AZURE_CLIENT_ID</c>, <c>AZURE_TENANT_ID</c>.</summary>
    WorkloadIdentity,
}

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

/// <summary>
/// Configuration section <c>Graph</c>: Relay's own app identity (used for Relay accounts and anonymous clients) and how it
/// talks to Microsoft Graph.
/// </summary>
public sealed class GraphOptions : IValidatableObject
{
    public const string SectionName = "Graph";

    /// <summary>The standard variables of Kubernetes workload identity (set by the AKS webhook and other federations).</summary>
    public const string TenantIdVariable = "AZURE_TENANT_ID";
    public const string ClientIdVariable = "AZURE_CLIENT_ID";
    public const string FederatedTokenFileVariable = "AZURE_FEDERATED_TOKEN_FILE";

    /// <summary>Graph endpoint; national clouds use their own (e.g. https://graph.microsoft.us/v1.0).</summary>
    [Required(ErrorMessage = "Graph:BaseUrl is required.")]
    public string BaseUrl { get; set; } = "https://graph.microsoft.com/v1.0";

    /// <summary>Entra ID authority; national clouds use their own (e.g. https://login.microsoftonline.us/).</summary>
    [Required(ErrorMessage = "Graph:AuthorityHost is required.")]
    public string AuthorityHost { get; set; } = "https://login.microsoftonline.com/";

    /// <summary>The app registration's tenant. Not used by a managed identity, which knows its own.</summary>
    public string? TenantId { get; set; }

    /// <summary>The app registration's application (client) ID. A user-assigned managed identity is named by <see cref="ManagedIdentityClientId"/> instead.</summary>
    public string? ClientId { get; set; }

    /// <summary>
    /// Which credential Relay's app uses. Unset: the one whose setting is present (<see cref="ClientSecret"/>,
    /// <see cref="CertificatePath"/> or <see cref="CertificateName"/>, <see cref="ManagedIdentityClientId"/>,
    /// <see cref="FederatedTokenFile"/>); a system-assigned managed identity and workload identity from the environment
    /// need it said. Settings of two credentials at once are refused.
    /// </summary>
    public GraphCredential? Credential { get; set; }

    /// <summary>Client secret of Relay's app registration; from Key Vault as <c>Graph--ClientSecret</c>. Never logged.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>
    /// The app's certificate with its private key: PKCS#12 (<c>.pfx</c>/<c>.p12</c>) or PEM. Replacing the file is noticed
    /// at the next message, without a restart.
    /// </summary>
    public string? CertificatePath { get; set; }

    /// <summary>PEM private key file when it is not inside <see cref="CertificatePath"/>.</summary>
    public string? CertificateKeyPath { get; set; }

    /// <summary>Password of the PKCS#12 file or of an encrypted PEM key. A secret: Key Vault (<c>Graph--CertificatePassword</c>) or user secrets.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>
    /// A Key Vault certificate (in the vault of <c>ConnectionStrings:secrets</c>) instead of <see cref="CertificatePath"/>,
    /// read through the secret of the same name as Key Vault hands out a certificate with its key; Relay's identity
    /// needs "Key Vault Secrets User" on the vault.
    /// </summary>
    public string? CertificateName { get; set; }

    /// <summary>
    /// How often Relay asks Key Vault for a new version of <see cref="CertificateName"/>. Renewal policies act days or
    /// weeks before expiry, so an hour is plenty and still puts a replaced (compromised) certificate in service within the
    /// hour, at one request per hour. At least 1 second (tests), at most 1 day.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Graph:CertificateRefreshInterval must be between 1 second and 1 day.")]
    public TimeSpan CertificateRefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Client ID of a user-assigned managed identity; empty for the system-assigned one.</summary>
    public string? ManagedIdentityClientId { get; set; }

    /// <summary>Workload identity's federated token file; <c>AZURE_FEDERATED_TOKEN_FILE</c> when unset.</summary>
    public string? FederatedTokenFile { get; set; }

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

    /// <summary>
    /// One Graph request, from sending to the response (the SDK's own default is 100 s). Never longer than what is left
    /// of <see cref="RetryBudget"/>. A request that times out may have been carried out, so it is not retried.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:05", "00:10:00", ErrorMessage = "Graph:RequestTimeout must be between 5 seconds and 10 minutes.")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// How long one message may spend on Graph: waiting for a mailbox slot, its requests, and the pauses before retries.
    /// It must end before Relay.Smtp stops waiting for the verdict (<c>Smtp:SubmissionTimeout</c>, 5 minutes by
    /// default), so the client hears Relay's own 4xx rather than a timeout; 3 minutes leaves room for signing in first.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:08:00",
        ErrorMessage = "Graph:RetryBudget must be between 1 second and 8 minutes, and below Smtp:SubmissionTimeout (5 minutes by default).")]
    public TimeSpan RetryBudget { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>
    /// The first pause before a retry when Graph gives no <c>Retry-After</c>: pauses double from it (up to 30 seconds)
    /// and each is drawn at random below that ceiling (exponential backoff with full jitter).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00", ErrorMessage = "Graph:RetryBaseDelay must be between 10 milliseconds and 1 minute.")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Graph requests in flight at once per mailbox, across all messages. Outlook allows 4 concurrent requests per app
    /// and mailbox and answers a fifth with 429 (graph-facts §3); with several Relay.Sender replicas, divide 4 among them.
    /// </summary>
    [Range(1, 4, ErrorMessage = "Graph:MaxConcurrencyPerMailbox must be between 1 and 4 (Outlook allows 4 concurrent requests per app and mailbox).")]
    public int MaxConcurrencyPerMailbox { get; set; } = 4;

    /// <summary>
    /// Re-encode quoted-printable parts as base64 before MIME sendMail: Graph mangles some quoted-printable HTML. Only
    /// those parts change (see <see cref="QuotedPrintableReencoder"/>); signed and encrypted parts never do.
    /// </summary>
    public bool ReencodeQuotedPrintable { get; set; } = true;

    /// <summary>
    /// To: and Cc: addresses the client did not give in RCPT TO: <see cref="HeaderOnlyRecipientHandling.Deliver"/>
    /// (Graph delivers to them, as it does to every To: and Cc: address) or <see cref="HeaderOnlyRecipientHandling.Reject"/>.
    /// </summary>
    [EnumDataType(typeof(HeaderOnlyRecipientHandling), ErrorMessage = "Graph:HeaderOnlyRecipients must be Deliver or Reject.")]
    public HeaderOnlyRecipientHandling HeaderOnlyRecipients { get; set; } = HeaderOnlyRecipientHandling.Deliver;

    public bool HasCertificateFile => IsSet(CertificatePath);

    public bool HasKeyVaultCertificate => IsSet(CertificateName);

    /// <summary>The credential in use: <see cref="Credential"/>, else the only one configured; null when none (or two) is.</summary>
    public GraphCredential? CredentialKind => Credential ?? (CredentialSettings().Select(s => s.Kind).Distinct().ToArray() is [var only] ? only : null);

    /// <summary>True when there is any Graph configuration at all (Auto mode then delivers through Graph).</summary>
    public bool IsConfigured => IsSet(TenantId) || IsSet(ClientId) || Credential is not null || CredentialSettings().Any();

    /// <summary>
    /// Workload identity's standard variables fill what <c>Graph:TenantId</c>, <c>Graph:ClientId</c> and
    /// <c>Graph:FederatedTokenFile</c> leave empty, when <c>Graph:Credential</c> is <c>WorkloadIdentity</c>. (Other
    /// credentials ignore them: in Container Apps <c>AZURE_CLIENT_ID</c> names the identity that reads Key Vault.)
    /// </summary>
    public void UseWorkloadIdentityEnvironment(Func<string, string?> variable)
    {
        if (Credential != GraphCredential.WorkloadIdentity)
        {
            return;
        }
        TenantId = IsSet(TenantId) ? TenantId : variable(TenantIdVariable);
        ClientId = IsSet(ClientId) ? ClientId : variable(ClientIdVariable);
        FederatedTokenFile = IsSet(FederatedTokenFile) ? FederatedTokenFile : variable(FederatedTokenFileVariable);
    }

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
        foreach (var result in ValidateCredentialChoice().Concat(ValidateCertificate()).Concat(ValidateIdentities()))
        {
            yield return result;
        }
    }

    /// <summary>The checks that apply only when mail is delivered through Graph: what the credential in use still needs.</summary>
    public IEnumerable<string> MissingForDelivery()
    {
        var kind = CredentialKind;
        if (kind == GraphCredential.ManagedIdentity)
        {
            yield break; // The identity knows its tenant; system-assigned needs no ID.
        }
        var workload = kind == GraphCredential.WorkloadIdentity;
        if (!IsSet(TenantId))
        {
            yield return workload ? $"Graph:TenantId (or {TenantIdVariable})" : "Graph:TenantId";
        }
        if (!IsSet(ClientId))
        {
            yield return workload ? $"Graph:ClientId (or {ClientIdVariable})" : "Graph:ClientId";
        }
        switch (kind)
        {
            case null:
                yield return "a credential (Graph:ClientSecret, Graph:CertificatePath, Graph:CertificateName, or Graph:Credential=ManagedIdentity or WorkloadIdentity)";
                break;
            case GraphCredential.ClientSecret when !IsSet(ClientSecret):
                yield return "Graph:ClientSecret";
                break;
            case GraphCredential.Certificate when !HasCertificateFile && !HasKeyVaultCertificate:
                yield return "Graph:CertificatePath or Graph:CertificateName";
                break;
            case GraphCredential.WorkloadIdentity when !IsSet(FederatedTokenFile):
                yield return $"Graph:FederatedTokenFile (or {FederatedTokenFileVariable})";
                break;
        }
    }

    /// <summary>The settings that belong to one credential each, as configured.</summary>
    private IEnumerable<(GraphCredential Kind, string Key)> CredentialSettings()
    {
        if (IsSet(ClientSecret))
        {
            yield return (GraphCredential.ClientSecret, "Graph:ClientSecret");
        }
        if (HasCertificateFile)
        {
            yield return (GraphCredential.Certificate, "Graph:CertificatePath");
        }
        if (HasKeyVaultCertificate)
        {
            yield return (GraphCredential.Certificate, "Graph:CertificateName");
        }
        if (IsSet(ManagedIdentityClientId))
        {
            yield return (GraphCredential.ManagedIdentity, "Graph:ManagedIdentityClientId");
        }
        if (IsSet(FederatedTokenFile))
        {
            yield return (GraphCredential.WorkloadIdentity, "Graph:FederatedTokenFile");
        }
    }

    /// <summary>One credential: settings of another one than <c>Graph:Credential</c> names, or of two at once, are mistakes.</summary>
    private IEnumerable<ValidationResult> ValidateCredentialChoice()
    {
        var settings = CredentialSettings().ToList();
        if (Credential is { } chosen)
        {
            foreach (var (kind, key) in settings.Where(s => s.Kind != chosen))
            {
                yield return new ValidationResult(
                    $"{key} is set but Graph:Credential is {chosen}; {key} belongs to {kind}. Remove it, or set Graph:Credential={kind}.", [nameof(Credential)]);
            }
            yield break;
        }
        if (settings.Select(s => s.Kind).Distinct().Count() > 1)
        {
            yield return new ValidationResult(
                $"{string.Join(" and ", settings.Select(s => s.Key))} are {(settings.Count == 2 ? "both" : "all")} set; Relay's app uses one credential: keep one.",
                [nameof(Credential)]);
        }
    }

    private IEnumerable<ValidationResult> ValidateCertificate()
    {
        if (HasCertificateFile && HasKeyVaultCertificate)
        {
            yield return new ValidationResult(
                "Graph:CertificatePath and Graph:CertificateName are both set; choose one certificate source.", [nameof(CertificatePath), nameof(CertificateName)]);
        }
        if (!HasCertificateFile)
        {
            if (IsSet(CertificateKeyPath))
            {
                yield return new ValidationResult("Graph:CertificateKeyPath is set but Graph:CertificatePath is not.", [nameof(CertificateKeyPath)]);
            }
            if (!string.IsNullOrEmpty(CertificatePassword))
            {
                yield return new ValidationResult(HasKeyVaultCertificate
                    ? "Graph:CertificatePassword belongs to Graph:CertificatePath; Key Vault hands out certificates without a password (Graph:CertificateName)."
                    : "Graph:CertificatePassword is set but Graph:CertificatePath is not.", [nameof(CertificatePassword)]);
            }
        }
        else
        {
            if (!File.Exists(CertificatePath))
            {
                yield return new ValidationResult($"Graph:CertificatePath '{CertificatePath}' does not exist.", [nameof(CertificatePath)]);
            }
            if (IsSet(CertificateKeyPath) && !File.Exists(CertificateKeyPath))
            {
                yield return new ValidationResult($"Graph:CertificateKeyPath '{CertificateKeyPath}' does not exist.", [nameof(CertificateKeyPath)]);
            }
        }
        if (HasKeyVaultCertificate && !KeyVaultOptions.IsObjectName(CertificateName!))
        {
            yield return new ValidationResult(
                $"Graph:CertificateName '{CertificateName}' is not a Key Vault certificate name (1 to 127 letters, digits and hyphens).", [nameof(CertificateName)]);
        }
    }

    private IEnumerable<ValidationResult> ValidateIdentities()
    {
        if (IsSet(ManagedIdentityClientId) && !Guid.TryParse(ManagedIdentityClientId, out _))
        {
            yield return new ValidationResult(
                $"Graph:ManagedIdentityClientId '{ManagedIdentityClientId}' is not a client ID (a GUID: the identity's Client ID in the portal); leave it empty for the system-assigned identity.",
                [nameof(ManagedIdentityClientId)]);
        }
        if (IsSet(FederatedTokenFile) && !File.Exists(FederatedTokenFile))
        {
            var key = Credential == GraphCredential.WorkloadIdentity ? $"Graph:FederatedTokenFile (or {FederatedTokenFileVariable})" : "Graph:FederatedTokenFile";
            yield return new ValidationResult($"{key} '{FederatedTokenFile}' does not exist.", [nameof(FederatedTokenFile)]);
        }
    }

    private static bool IsSet(string? value) => !string.IsNullOrWhiteSpace(value);
}

public sealed class GraphOptionsValidator : DataAnnotationsOptionsValidator<GraphOptions>;
