using Relay.Bench.Measure;

namespace Relay.Bench.Servers;

/// <summary>What a server received during a cell, when it keeps count: the check that every 250 was a delivery.</summary>
/// <param name="Messages">Messages delivered (pickup files written, sendMail/draft sends accepted by the fake Graph).</param>
/// <param name="GraphMilliseconds">How long the fake Graph took for each accepted sendMail, from request to response.</param>
internal sealed record Delivered(int Messages, IReadOnlyList<double> GraphMilliseconds);

/// <summary>An SMTP server under load: listens on a loopback port, and names the processes whose CPU and memory count.</summary>
internal interface IBenchServer : IAsyncDisposable
{
    string Name { get; }

    int Port { get; }

    IReadOnlyList<MeasuredProcess> Processes { get; }

    /// <summary>Sets up what a cell varies on the server side (the fake Graph's latency).</summary>
    void Prepare(Cell cell)
    {
    }

    /// <summary>Forgets what was delivered so far (between warm-up and measurement, and between cells).</summary>
    void Forget()
    {
    }

    /// <summary>What was delivered since <see cref="Forget"/>, or null for a server that throws mail away.</summary>
    Delivered? Delivered() => null;
}
