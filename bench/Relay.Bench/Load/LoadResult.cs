namespace Relay.Bench.Load;

/// <summary>What a load generator saw in one phase of a cell.</summary>
/// <param name="Messages">Messages the server answered 250 after DATA.</param>
/// <param name="Failures">Messages refused, or lost with their connection.</param>
/// <param name="Seconds">Wall time from the first connection to the last reply.</param>
/// <param name="Bytes">Bytes of the accepted messages.</param>
/// <param name="DataReplyMs">DATA→250 per accepted message (from the final dot to the reply), when the generator measures it.</param>
/// <param name="Error">The first failure, for the report.</param>
internal sealed record LoadResult(int Messages, int Failures, double Seconds, long Bytes, IReadOnlyList<double> DataReplyMs, string? Error);

/// <summary>Sends a cell's messages to a server for about a given time.</summary>
internal interface ILoadGenerator
{
    Task<LoadResult> RunAsync(int port, Cell cell, TimeSpan duration, CancellationToken cancellationToken);
}
