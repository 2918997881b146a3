namespace Relay.Bench;

/// <summary>
/// Which cells a run measures, in order. The same load runs against each server back to back, so ratios compare figures
/// taken minutes apart at most; the cells the targets need run first, so a run cut short by its budget still has them.
/// </summary>
internal static class Matrix
{
    private static readonly string[] IngressServers = [ServerNames.SmtpSink, ServerNames.Aiosmtpd, ServerNames.RelayPickup];
    private static readonly bool[] BothModes = [false, true];

    public static IReadOnlyList<Cell> For(bool quick) => quick ? Quick() : Full();

    private static List<Cell> Full()
    {
        var cells = new List<Cell>();
        foreach (var generator in new[] { Generator.SmtpSource, Generator.MailKit })
        foreach (var size in new[] { Cell.KiB, 100 * Cell.KiB, Cell.MiB, 10 * Cell.MiB })
        foreach (var concurrency in new[] { 1, 10, 50 })
        foreach (var many in BothModes)
        foreach (var server in IngressServers)
        {
            cells.Add(new Cell(server, generator, size, concurrency, many));
        }

        // Graph through MailKit only: smtp-source cannot vary From (the mailbox), and its text body cannot become a draft.
        foreach (var latency in new[] { 0, 200 })
        foreach (var mailboxes in new[] { 1, 100 })
        foreach (var size in new[] { Cell.KiB, Cell.MiB })
        foreach (var concurrency in new[] { 1, 10, 50 })
        foreach (var many in BothModes)
        {
            cells.Add(new Cell(ServerNames.RelayGraph, Generator.MailKit, size, concurrency, many, mailboxes, latency));
        }
        foreach (var size in new[] { 100 * Cell.KiB, 10 * Cell.MiB })
        foreach (var concurrency in new[] { 1, 10, 50 })
        foreach (var many in BothModes)
        {
            cells.Add(new Cell(ServerNames.RelayGraph, Generator.MailKit, size, concurrency, many, Mailboxes: 100));
        }
        return [.. cells.OrderBy(cell => NeededByTargets(cell) ? 0 : 1)];
    }

    /// <summary>A smoke run: the cells of every target at their smallest, each measured for a second.</summary>
    private static List<Cell> Quick()
    {
        var cells = new List<Cell>();
        foreach (var generator in new[] { Generator.SmtpSource, Generator.MailKit })
        foreach (var size in new[] { Cell.KiB, Cell.MiB })
        foreach (var many in BothModes)
        foreach (var server in IngressServers)
        {
            cells.Add(new Cell(server, generator, size, 10, many));
        }
        cells.Add(new Cell(ServerNames.RelayGraph, Generator.MailKit, Cell.KiB, 1, false, Mailboxes: 1, GraphLatencyMs: 0));
        cells.Add(new Cell(ServerNames.RelayGraph, Generator.MailKit, Cell.KiB, 50, true, Mailboxes: 100, GraphLatencyMs: 0));
        cells.Add(new Cell(ServerNames.RelayGraph, Generator.MailKit, Cell.KiB, 1, false, Mailboxes: 1, GraphLatencyMs: 200));
        cells.Add(new Cell(ServerNames.RelayGraph, Generator.MailKit, Cell.KiB, 50, true, Mailboxes: 100, GraphLatencyMs: 200));
        cells.Add(new Cell(ServerNames.RelayPickup, Generator.MailKit, 10 * Cell.MiB, 50, false));
        cells.Add(new Cell(ServerNames.RelayGraph, Generator.MailKit, 10 * Cell.MiB, 50, false, Mailboxes: 100));
        return cells;
    }

    /// <summary>Whether a target reads this cell (see <see cref="Report.Targets"/>).</summary>
    private static bool NeededByTargets(Cell cell) => cell.Server == ServerNames.RelayGraph
        ? cell.Size == Cell.KiB && (cell.GraphLatencyMs == 0 || cell.Concurrency != 10) || cell.Size == 10 * Cell.MiB && cell.Concurrency == 50
        : cell.Concurrency == 10 && cell.Size is Cell.KiB or Cell.MiB || cell.Size == 10 * Cell.MiB && cell.Concurrency == 50 && cell.Server == ServerNames.RelayPickup;
}
