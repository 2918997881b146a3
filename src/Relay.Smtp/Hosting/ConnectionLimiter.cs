using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Options;

namespace Relay.Smtp.Hosting;

/// <summary>Counts sessions in total and per client address (<c>Smtp:MaxConnections</c>, <c>Smtp:MaxConnectionsPerAddress</c>).</summary>
public sealed class ConnectionLimiter(IOptions<SmtpOptions> options)
{
    private readonly ConcurrentDictionary<IPAddress, int> _perAddress = new();
    private int _total;

    public bool TryAcquire(IPAddress address)
    {
        if (Interlocked.Increment(ref _total) > options.Value.MaxConnections)
        {
            Interlocked.Decrement(ref _total);
            return false;
        }
        var count = _perAddress.AddOrUpdate(address, 1, (_, n) => n + 1);
        if (count > options.Value.MaxConnectionsPerAddress)
        {
            Release(address);
            return false;
        }
        return true;
    }

    public void Release(IPAddress address)
    {
        Interlocked.Decrement(ref _total);
        // Remove the entry when it reaches zero so the dictionary does not grow with every address ever seen.
        while (_perAddress.TryGetValue(address, out var n))
        {
            if (n <= 1 ? _perAddress.TryRemove(KeyValuePair.Create(address, n)) : _perAddress.TryUpdate(address, n - 1, n))
            {
                return;
            }
        }
    }
}
