namespace Relay.EndToEnd.Tests.Faults;

/// <summary>
/// How long and how hard the fault suite pushes: a short form for every <c>dotnet test</c> (the whole suite in a few
/// minutes on two cores), and the full form of issue 7 when <c>RELAY_FAULTS=full</c> (bench/faults.sh).
/// </summary>
internal static class FaultProfile
{
    public const string Variable = "RELAY_FAULTS";

    public static bool Full { get; } = string.Equals(Environment.GetEnvironmentVariable(Variable), "full", StringComparison.OrdinalIgnoreCase);

    public static string Name => Full ? "full" : "short";

    public static T Pick<T>(T shortForm, T fullForm) => Full ? fullForm : shortForm;
}

/// <summary>The fault scenarios run one at a time: each loads the machine, and they must not measure one another.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FaultCollection
{
    public const string Name = "Faults";
}
