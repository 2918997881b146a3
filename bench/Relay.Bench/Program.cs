using System.Diagnostics;
using Relay.Bench;
using Relay.Bench.Report;
using Relay.Bench.Servers;
using Relay.Testing;

// The benchmark harness of issue 7: Relay.Smtp and Relay.Sender as published processes, smtp-sink and a null aiosmtpd
// server side by side, loads from smtp-source and MailKit; figures to docs/benchmarks.md. Run it with bench/run.sh.
var settings = BenchSettings.Parse(args);
var machine = MachineInfo.Read();
var clock = Stopwatch.StartNew();
var cells = Matrix.For(settings.Quick).Where(cell => settings.Only is null || cell.Description.Contains(settings.Only, StringComparison.OrdinalIgnoreCase)).ToList();
Console.WriteLine($"{cells.Count} cells, budget {settings.Budget.TotalMinutes:0.#} min; load average {machine.LoadAverage}.");

await using var cloud = await FakeMicrosoftCloud.StartAsync();
var servers = new List<IBenchServer>();
try
{
    servers.Add(await ReferenceServer.StartSmtpSinkAsync());
    servers.Add(await ReferenceServer.StartAiosmtpdAsync());
    servers.Add(await RelayServer.StartWithPickupAsync(settings));
    servers.Add(await RelayServer.StartWithGraphAsync(settings, cloud));

    var runner = new CellRunner(settings);
    foreach (var server in servers.Where(server => cells.Any(cell => cell.Server == server.Name)))
    {
        var warmUp = await runner.WarmUpServerAsync(server);
        Console.WriteLine($"{server.Name} warmed up in {warmUp.TotalSeconds:0} s");
    }
    var results = new List<CellResult>();
    var notRun = new List<(Cell, string)>();
    foreach (var cell in cells)
    {
        if (clock.Elapsed > settings.Budget)
        {
            notRun.Add((cell, $"the run's {settings.Budget.TotalMinutes:0.#}-minute budget was spent"));
            continue;
        }
        var server = servers.Single(s => s.Name == cell.Server);
        try
        {
            var result = await runner.RunAsync(server, cell);
            results.Add(result);
            Console.WriteLine($"[{clock.Elapsed:mm\\:ss}] {cell.Description,-58} {result.MessagesPerSecond,9:0.0} msg/s {result.MiBPerSecond,8:0.0} MiB/s p50 {result.P50Ms?.ToString("0.00") ?? "-",7} ms {result.Problem}");
        }
        catch (OperationCanceledException)
        {
            notRun.Add((cell, "did not finish within the cell's time limit"));
            Console.WriteLine($"{cell.Description} did not finish within the cell's time limit.");
        }
    }

    var report = MarkdownReport.Write(settings, machine, MachineInfo.CurrentLoadAverage(), clock.Elapsed, results, notRun);
    Directory.CreateDirectory(Path.GetDirectoryName(settings.Output)!);
    await File.WriteAllTextAsync(settings.Output, report);
    Console.WriteLine($"Wrote {settings.Output} after {clock.Elapsed:mm\\:ss}.");
}
finally
{
    foreach (var server in servers)
    {
        await server.DisposeAsync();
    }
}
