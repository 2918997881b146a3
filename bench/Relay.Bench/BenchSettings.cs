namespace Relay.Bench;

/// <summary>The command line: <c>--smtp DIR --sender DIR [--out FILE] [--quick] [--profile] [--only TEXT]</c>.</summary>
internal sealed class BenchSettings
{
    /// <summary>Variables with this prefix are passed to both services without it (RELAY_BENCH_SERVICE_DOTNET_gcServer=1).</summary>
    private const string ServicePrefix = "RELAY_BENCH_SERVICE_";

    public required string SmtpDirectory { get; init; }

    public required string SenderDirectory { get; init; }

    public required string Output { get; init; }

    public bool Quick { get; init; }

    public bool Profile { get; init; }

    /// <summary>Runs only the cells whose description contains this text ("smtp-source", "Graph 200 ms", "c=50").</summary>
    public string? Only { get; init; }

    /// <summary>
    /// The whole matrix has this long; cells that would start later are reported as not measured. With the build, the
    /// services' start and one cell at most over (<see cref="CellLimit"/>), a full run stays within 25 minutes.
    /// </summary>
    public TimeSpan Budget => Quick ? TimeSpan.FromSeconds(90) : TimeSpan.FromMinutes(20);

    /// <summary>No cell may take longer than this, whatever happens (a stalled server, a lost reply, 50 × 10 MiB on a slow machine).</summary>
    public TimeSpan CellLimit => Quick ? TimeSpan.FromSeconds(45) : TimeSpan.FromMinutes(2);

    /// <summary>One round of a server's warm-up before its first cell (see <see cref="CellRunner.WarmUpServerAsync"/>).</summary>
    public TimeSpan ServerWarmUp => Quick ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(3);

    /// <summary>
    /// The most a server's warm-up may take: rounds go on until the JIT is quiet, which for a .NET service (tiered
    /// compilation with dynamic PGO) takes tens of seconds of load after start.
    /// </summary>
    public TimeSpan ServerWarmUpLimit => Quick ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(45);

    /// <summary>How long each cell warms up before it is measured.</summary>
    public TimeSpan WarmUp => Quick ? TimeSpan.FromMilliseconds(300) : TimeSpan.FromSeconds(1);

    /// <summary>How long each cell starts new messages while measured (messages in flight then finish).</summary>
    public TimeSpan Measure => Quick ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(3);

    public IReadOnlyDictionary<string, string> ServiceEnvironment { get; init; } = new Dictionary<string, string>();

    public static BenchSettings Parse(string[] args)
    {
        string? smtp = null, sender = null, output = null, only = null;
        bool quick = false, profile = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--smtp": smtp = Value(args, ref i); break;
                case "--sender": sender = Value(args, ref i); break;
                case "--out": output = Value(args, ref i); break;
                case "--quick": quick = true; break;
                case "--profile": profile = true; break;
                case "--only": only = Value(args, ref i); break;
                default: throw new ArgumentException($"Unknown argument '{args[i]}'. Usage: Relay.Bench --smtp DIR --sender DIR [--out FILE] [--quick] [--profile] [--only TEXT]");
            }
        }
        var environment = new Dictionary<string, string>();
        foreach (var key in Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(key => key.StartsWith(ServicePrefix, StringComparison.Ordinal)))
        {
            environment[key[ServicePrefix.Length..]] = Environment.GetEnvironmentVariable(key)!;
        }
        return new BenchSettings
        {
            SmtpDirectory = Existing(smtp, "--smtp", "Relay.Smtp"),
            SenderDirectory = Existing(sender, "--sender", "Relay.Sender"),
            Output = Path.GetFullPath(output ?? (quick ? "artifacts/bench/benchmarks-quick.md" : "docs/benchmarks.md")),
            Quick = quick,
            Profile = profile,
            Only = only,
            ServiceEnvironment = environment,
        };
    }

    private static string Value(string[] args, ref int i) =>
        ++i < args.Length ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value.");

    private static string Existing(string? directory, string option, string service) =>
        directory is not null && File.Exists(Path.Combine(directory, service))
            ? Path.GetFullPath(directory)
            : throw new ArgumentException($"{option} must name the publish output of {service} (dotnet publish src/{service} -c Release -o DIR); bench/run.sh does this.");
}
