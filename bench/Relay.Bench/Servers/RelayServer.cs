using System.Globalization;
using System.Security.Cryptography;
using Relay.Bench.Measure;
using Relay.Testing;

namespace Relay.Bench.Servers;

/// <summary>
/// Relay as it is deployed: Relay.Sender and Relay.Smtp as two processes from their Release publish output, wired by
/// the variables of the wiring contract (DESIGN.md), logging at Warning. Clients from 127.0.0.1 send anonymously,
/// mapped to one relay account (<c>Smtp:Anonymous:AllowedNetworks</c>, <c>Identity:AnonymousAccount</c>): a production
/// device on an allowed network costs the same, and AUTH's PBKDF2 (600,000 iterations by default, about a third of a
/// CPU second each) would otherwise be all that a one-message-per-connection cell measures.
/// Delivery is to a pickup folder, or to the fake Microsoft Graph, whose certificate the Sender trusts via SSL_CERT_FILE.
/// </summary>
internal sealed class RelayServer : IBenchServer
{
    public const string Account = "bench";

    /// <summary>Every address of the benchmark's mailboxes is in this domain.</summary>
    public const string AllowedSenders = "*@contoso.com";

    private const string TenantId = "11111111-1111-1111-1111-111111111111";
    private const string ClientId = "22222222-2222-2222-2222-222222222222";

    private readonly ChildProcess _sender;
    private readonly ChildProcess _smtp;
    private readonly DirectoryInfo _scratch;
    private readonly string? _pickup;
    private readonly FakeMicrosoftCloud? _cloud;

    private RelayServer(string name, ChildProcess sender, ChildProcess smtp, int port, DirectoryInfo scratch, string? pickup, FakeMicrosoftCloud? cloud)
    {
        Name = name;
        _sender = sender;
        _smtp = smtp;
        Port = port;
        _scratch = scratch;
        _pickup = pickup;
        _cloud = cloud;
        Processes = [new MeasuredProcess("Relay.Smtp", smtp.Process), new MeasuredProcess("Relay.Sender", sender.Process)];
    }

    public string Name { get; }

    public int Port { get; }

    public IReadOnlyList<MeasuredProcess> Processes { get; }

    /// <summary>Relay delivering to a pickup folder in a temporary directory.</summary>
    public static Task<RelayServer> StartWithPickupAsync(BenchSettings settings)
    {
        var scratch = Directory.CreateTempSubdirectory("relay-bench-");
        var pickup = Directory.CreateDirectory(Path.Combine(scratch.FullName, "pickup")).FullName;
        return StartAsync(ServerNames.RelayPickup, settings, scratch, new Dictionary<string, string> { ["Delivery__PickupDirectory"] = pickup }, pickup, cloud: null);
    }

    /// <summary>Relay delivering to <paramref name="cloud"/>'s Graph, signing in with a client secret.</summary>
    public static async Task<RelayServer> StartWithGraphAsync(BenchSettings settings, FakeMicrosoftCloud cloud)
    {
        var scratch = Directory.CreateTempSubdirectory("relay-bench-");
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        cloud.RegisterApp(TenantId, ClientId, secret);
        var trust = Path.Combine(scratch.FullName, "fake-cloud.pem");
        await File.WriteAllTextAsync(trust, cloud.Certificate.ExportCertificatePem());
        return await StartAsync(ServerNames.RelayGraph, settings, scratch, new Dictionary<string, string>
        {
            ["Graph__BaseUrl"] = cloud.GraphBaseUrl,
            ["Graph__AuthorityHost"] = cloud.AuthorityHost.ToString(),
            ["Graph__TenantId"] = TenantId,
            ["Graph__ClientId"] = ClientId,
            ["Graph__ClientSecret"] = secret,
            // OpenSSL's trust store for this process only: the fake cloud's self-signed certificate and nothing else.
            ["SSL_CERT_FILE"] = trust,
            ["SSL_CERT_DIR"] = scratch.FullName,
        }, pickup: null, cloud);
    }

    private static async Task<RelayServer> StartAsync(string name, BenchSettings settings, DirectoryInfo scratch, Dictionary<string, string> delivery, string? pickup, FakeMicrosoftCloud? cloud)
    {
        var senderPort = ChildProcess.FreeLoopbackPort();
        var smtpPort = ChildProcess.FreeLoopbackPort();
        var senderEnvironment = new Dictionary<string, string>(settings.ServiceEnvironment)
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{senderPort}",
            ["Logging__LogLevel__Default"] = "Warning",
            [$"Identity__Accounts__{Account}__PasswordHash"] = UnusedPasswordHash(),
            [$"Identity__Accounts__{Account}__AllowedSenders__0"] = AllowedSenders,
            ["Identity__AnonymousAccount"] = Account,
        };
        foreach (var (key, value) in delivery)
        {
            senderEnvironment[key] = value;
        }
        var sender = ChildProcess.Start($"{name} Relay.Sender", Path.Combine(settings.SenderDirectory, "Relay.Sender"), [], senderEnvironment, scratch.FullName);
        ChildProcess? smtp = null;
        try
        {
            await sender.WaitForPortAsync(senderPort, TimeSpan.FromSeconds(60));
            smtp = ChildProcess.Start($"{name} Relay.Smtp", Path.Combine(settings.SmtpDirectory, "Relay.Smtp"), [], new Dictionary<string, string>(settings.ServiceEnvironment)
            {
                ["services__sender__http__0"] = $"http://127.0.0.1:{senderPort}",
                ["Smtp__Port"] = smtpPort.ToString(CultureInfo.InvariantCulture),
                ["Smtp__Anonymous__AllowedNetworks__0"] = "127.0.0.1/32",
                ["Logging__LogLevel__Default"] = "Warning",
            }, scratch.FullName);
            await smtp.WaitForPortAsync(smtpPort, TimeSpan.FromSeconds(60));
            return new RelayServer(name, sender, smtp, smtpPort, scratch, pickup, cloud);
        }
        catch
        {
            if (smtp is not null)
            {
                await smtp.DisposeAsync();
            }
            await sender.DisposeAsync();
            scratch.Delete(recursive: true);
            throw;
        }
    }

    public void Prepare(Cell cell)
    {
        if (_cloud is not null)
        {
            _cloud.GraphLatency = TimeSpan.FromMilliseconds(cell.GraphLatencyMs);
        }
    }

    public void Forget()
    {
        _cloud?.ClearJournal();
        if (_pickup is not null)
        {
            foreach (var file in Directory.EnumerateFiles(_pickup))
            {
                File.Delete(file);
            }
        }
    }

    public Delivered? Delivered()
    {
        if (_cloud is not null)
        {
            var graphTimes = _cloud.Requests
                .Where(request => request.StatusCode == 202 && request.Path.EndsWith("/sendMail", StringComparison.Ordinal))
                .Select(request => (request.CompletedAt - request.ReceivedAt).TotalMilliseconds)
                .ToList();
            return new Delivered(_cloud.SentMail.Count, graphTimes);
        }
        return new Delivered(Directory.EnumerateFiles(_pickup!, "*.eml").Count(), []);
    }

    /// <summary>
    /// The account needs a hash to be valid; nobody logs in with it (clients are anonymous), so its password is random
    /// and forgotten, and the minimum iterations keep start-up quick.
    /// </summary>
    private static string UnusedPasswordHash()
    {
        const int iterations = 100_000;
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(RandomNumberGenerator.GetBytes(24), salt, iterations, HashAlgorithmName.SHA256, 32);
        return $"pbkdf2-sha256${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    public async ValueTask DisposeAsync()
    {
        await _smtp.DisposeAsync();
        await _sender.DisposeAsync();
        _scratch.Delete(recursive: true);
    }

    /// <summary>The last output of both services, for a cell that failed.</summary>
    public string RecentOutput => $"Relay.Smtp:{Environment.NewLine}{_smtp.RecentOutput}{Environment.NewLine}Relay.Sender:{Environment.NewLine}{_sender.RecentOutput}";
}
