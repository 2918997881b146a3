using Relay.Bench.Load;
using Relay.Bench.Measure;
using Relay.Bench.Report;

namespace Relay.Bench.Tests;

public class TargetsTests
{
    [Theory]
    [InlineData(3100, true)]
    [InlineData(2900, false)]
    public void IngressToPickupIsComparedWithAiosmtpdUnderTheSameLoad(int relayMessages, bool met)
    {
        var results = new[]
        {
            Result(new Cell(ServerNames.Aiosmtpd, Generator.MailKit, Cell.KiB, 10, true), messages: 1000),
            Result(new Cell(ServerNames.RelayPickup, Generator.MailKit, Cell.KiB, 10, true), messages: relayMessages),
            // Another load must not stand in for the one the target names.
            Result(new Cell(ServerNames.Aiosmtpd, Generator.MailKit, Cell.KiB, 10, false), messages: 1),
        };

        var target = Assert.Single(Targets.Evaluate(results), t => t.Target.StartsWith("Ingress to pickup, 1 KiB, c=10 (MailKit, many/conn) ≥ 3× aiosmtpd", StringComparison.Ordinal));

        Assert.Equal(met, target.Met);
    }

    [Fact]
    public void ATargetWhoseCellsDidNotRunIsNeitherMetNorMissed()
    {
        var targets = Targets.Evaluate([]);

        Assert.All(targets, target => Assert.Null(target.Met));
    }

    [Fact]
    public void RelaysAddedLatencyIsDataToReplyMinusTheFakeGraphsTime()
    {
        var cell = new Cell(ServerNames.RelayGraph, Generator.MailKit, Cell.KiB, 1, false, Mailboxes: 1, GraphLatencyMs: 200);
        var result = Result(cell, messages: 3, dataReplyMs: [201.0, 203.5, 260.0], graphMs: [200.2, 200.3, 200.4]);

        Assert.Equal(3.2, result.AddedP50Ms!.Value, precision: 6);
        var target = Assert.Single(Targets.Evaluate([result]), t => t.Target.StartsWith("Relay's added latency", StringComparison.Ordinal));
        Assert.False(target.Met);
    }

    [Fact]
    public void AServerThatAnswered250WithoutDeliveringIsAProblemAndMissesItsTarget()
    {
        var cell = new Cell(ServerNames.RelayGraph, Generator.MailKit, Cell.KiB, 50, true, Mailboxes: 100, GraphLatencyMs: 0);
        var result = Result(cell, messages: 5000, delivered: 4999);

        Assert.Contains("5000 answered 250 but 4999 delivered", result.Problem, StringComparison.Ordinal);
        var target = Assert.Single(Targets.Evaluate([result]), t => t.Target.StartsWith("End to end", StringComparison.Ordinal));
        Assert.False(target.Met);
    }

    private static CellResult Result(Cell cell, int messages, double[]? dataReplyMs = null, double[]? graphMs = null, int? delivered = null)
    {
        var load = new LoadResult(messages, 0, Seconds: 1, (long)messages * cell.Size, dataReplyMs ?? Enumerable.Repeat(1.0, messages).ToArray(), null);
        var usage = new ProcessUsage(1, new Dictionary<string, long> { ["Relay.Smtp"] = 1, ["Relay.Sender"] = 1 }, []);
        var deliveredRecord = cell.Server == ServerNames.RelayGraph || delivered is not null ? new Servers.Delivered(delivered ?? messages, graphMs ?? []) : null;
        return new CellResult(cell, load, usage, PeakIsExact: true, deliveredRecord);
    }
}
