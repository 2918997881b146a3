using System.Globalization;

namespace Relay.Bench.Report;

/// <summary>One target of issue 7, as measured in this run. <see cref="Met"/> is null when its cells did not run.</summary>
internal sealed record TargetResult(string Target, string Measured, bool? Met, IReadOnlyList<CellResult> Cells);

/// <summary>The targets of issue 7 ("Prove it"), read from one run's cells.</summary>
internal static class Targets
{
    public const double PeakRssLimitMiB = 400;

    public static IReadOnlyList<TargetResult> Evaluate(IReadOnlyList<CellResult> results)
    {
        var targets = new List<TargetResult>();
        foreach (var generator in new[] { Generator.SmtpSource, Generator.MailKit })
        foreach (var many in new[] { false, true })
        {
            var load = $"{Label(generator)}, {(many ? "many/conn" : "1/conn")}";
            targets.Add(Ratio($"Ingress to pickup, 1 KiB, c=10 ({load}) ≥ 3× aiosmtpd msg/s", results, generator, Cell.KiB, many, ServerNames.Aiosmtpd, 3, cell => cell.MessagesPerSecond));
            targets.Add(Ratio($"Ingress to pickup, 1 KiB, c=10 ({load}) ≥ 0.5× smtp-sink msg/s", results, generator, Cell.KiB, many, ServerNames.SmtpSink, 0.5, cell => cell.MessagesPerSecond));
            targets.Add(Ratio($"Ingress to pickup, 1 MiB, c=10 ({load}) ≥ 0.5× smtp-sink MiB/s", results, generator, Cell.MiB, many, ServerNames.SmtpSink, 0.5, cell => cell.MiBPerSecond));
        }

        var endToEnd = results.Where(r => IsGraph(r, latency: 0) && r.Cell.Size == Cell.KiB).MaxBy(r => r.MessagesPerSecond);
        targets.Add(endToEnd is null
            ? NotRun("End to end via gRPC to a 0 ms fake Graph, 1 KiB ≥ 1,000 msg/s")
            : new TargetResult("End to end via gRPC to a 0 ms fake Graph, 1 KiB ≥ 1,000 msg/s",
                $"{Format(endToEnd.MessagesPerSecond)} msg/s (best: {Describe(endToEnd.Cell)})", endToEnd.MessagesPerSecond >= 1000 && endToEnd.Problem is null, [endToEnd]));

        foreach (var many in new[] { true, false })
        {
            // 50 connections, each message holding one for 200 ms, allow 250 msg/s; 100 mailboxes × 4 requests lift Graph's limit.
            var name = $"200 ms Graph, 100 mailboxes, c=50, 1 KiB ({(many ? "many/conn" : "1/conn")}) ≥ 80 % of 250 msg/s";
            var cell = results.FirstOrDefault(r => IsGraph(r, latency: 200) && r.Cell is { Size: Cell.KiB, Concurrency: 50, Mailboxes: 100 } && r.Cell.ManyPerConnection == many);
            targets.Add(cell is null ? NotRun(name) : new TargetResult(name, $"{Format(cell.MessagesPerSecond)} msg/s = {Format(cell.MessagesPerSecond / 250 * 100)} %", cell.MessagesPerSecond >= 200 && cell.Problem is null, [cell]));
        }

        var big = results.Where(r => r.Cell is { Size: 10 * Cell.MiB, Concurrency: 50 } && r.Cell.Server is ServerNames.RelayPickup or ServerNames.RelayGraph).ToList();
        foreach (var service in new[] { "Relay.Smtp", "Relay.Sender" })
        {
            var name = $"Peak RSS of {service}, 50 clients each sending 10 MiB ≤ {PeakRssLimitMiB} MiB";
            var worst = big.MaxBy(r => r.Usage.PeakRssBytes[service]);
            targets.Add(worst is null ? NotRun(name) : new TargetResult(name,
                $"{Format(MiB(worst.Usage.PeakRssBytes[service]))} MiB ({worst.Cell.ServerLabel}, {worst.Cell.GeneratorLabel} {worst.Cell.Mode}{(worst.PeakIsExact ? "" : ", sampled")})",
                MiB(worst.Usage.PeakRssBytes[service]) <= PeakRssLimitMiB && worst.Problem is null, big));
        }

        var unloaded = results.Where(r => r.Cell is { Server: ServerNames.RelayGraph, Size: Cell.KiB, Concurrency: 1 } && r.AddedP50Ms is not null).ToList();
        var slowest = unloaded.MaxBy(r => r.AddedP50Ms);
        targets.Add(slowest is null ? NotRun("Relay's added latency (DATA→250 − fake Graph time), p50, 1 KiB, c=1 ≤ 2 ms") : new TargetResult(
            "Relay's added latency (DATA→250 − fake Graph time), p50, 1 KiB, c=1 ≤ 2 ms",
            $"{Format(slowest.AddedP50Ms!.Value)} ms (worst of {unloaded.Count}: {Describe(slowest.Cell)})", slowest.AddedP50Ms <= 2 && slowest.Problem is null, unloaded));
        return targets;
    }

    private static TargetResult Ratio(string name, IReadOnlyList<CellResult> results, Generator generator, int size, bool many, string baseline, double atLeast, Func<CellResult, double> figure)
    {
        var relay = Find(results, ServerNames.RelayPickup, generator, size, many);
        var reference = Find(results, baseline, generator, size, many);
        if (relay is null || reference is null || figure(reference) <= 0)
        {
            return NotRun(name);
        }
        var ratio = figure(relay) / figure(reference);
        return new TargetResult(name, $"{Format(ratio)}× ({Format(figure(relay))} vs {Format(figure(reference))})", ratio >= atLeast && relay.Problem is null, [relay, reference]);
    }

    private static CellResult? Find(IReadOnlyList<CellResult> results, string server, Generator generator, int size, bool many) =>
        results.FirstOrDefault(r => r.Cell.Server == server && r.Cell.Generator == generator && r.Cell.Size == size && r.Cell.Concurrency == 10 && r.Cell.ManyPerConnection == many);

    private static bool IsGraph(CellResult result, int latency) => result.Cell.Server == ServerNames.RelayGraph && result.Cell.GraphLatencyMs == latency;

    private static TargetResult NotRun(string name) => new(name, "not measured (cell not in this run)", null, []);

    private static string Label(Generator generator) => generator == Generator.SmtpSource ? "smtp-source" : "MailKit";

    private static string Describe(Cell cell) => $"{cell.ServerLabel}, c={cell.Concurrency}, {cell.Mode}";

    public static double MiB(long bytes) => bytes / (1024.0 * 1024);

    public static string Format(double value) => value.ToString(value >= 100 ? "N0" : value >= 10 ? "N1" : "N2", CultureInfo.InvariantCulture);
}
