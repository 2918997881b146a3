using System.Security.Cryptography;

namespace Relay.Testing;

/// <summary>
/// The fake Table service's state: one storage account with its key, its tables (names compared case-insensitively, as
/// the service does) and their entities in key order, and the requests the service received.
/// </summary>
internal sealed class TableStore
{
    /// <summary>The storage account; the first path segment of every request (path-style addressing, as Azurite uses).</summary>
    public const string AccountName = "relaystore";

    /// <summary>The resource a bearer token must be issued for (scope <c>https://storage.azure.com/.default</c>).</summary>
    public const string Resource = "https://storage.azure.com";

    private static readonly IComparer<(string PartitionKey, string RowKey)> KeyOrder = Comparer<(string PartitionKey, string RowKey)>.Create(
        (a, b) => StringComparer.Ordinal.Compare(a.PartitionKey, b.PartitionKey) is var byPartition and not 0
            ? byPartition
            : StringComparer.Ordinal.Compare(a.RowKey, b.RowKey));

    private readonly Lock _gate = new();
    private readonly Dictionary<string, SortedDictionary<(string PartitionKey, string RowKey), TableRow>> _tables = new(StringComparer.OrdinalIgnoreCase);
    private int _requestCount;

    /// <summary>The account key, 64 random bytes as storage account keys are.</summary>
    public byte[] AccountKey { get; } = RandomNumberGenerator.GetBytes(64);

    public Func<string, TableFault?>? Fault { get; set; }

    public int RequestCount => Volatile.Read(ref _requestCount);

    public void CountRequest() => Interlocked.Increment(ref _requestCount);

    public void CreateTable(string table)
    {
        lock (_gate)
        {
            _tables.TryAdd(table, new SortedDictionary<(string, string), TableRow>(KeyOrder));
        }
    }

    /// <summary>Inserts or replaces an entity (Insert Or Replace Entity), creating the table on first use.</summary>
    public void Upsert(string table, string partitionKey, string rowKey, IReadOnlyDictionary<string, string> properties)
    {
        if (properties.Keys.FirstOrDefault(name => name is "PartitionKey" or "RowKey" or "Timestamp" || !TableFilter.IsPropertyName(name)) is { } bad)
        {
            throw new ArgumentException($"'{bad}' is not a custom property name (the keys and Timestamp are set by the service).", nameof(properties));
        }
        var row = new TableRow(partitionKey, rowKey, new Dictionary<string, string>(properties, StringComparer.Ordinal), DateTimeOffset.UtcNow);
        lock (_gate)
        {
            if (!_tables.TryGetValue(table, out var rows))
            {
                _tables[table] = rows = new SortedDictionary<(string, string), TableRow>(KeyOrder);
            }
            rows[(partitionKey, rowKey)] = row;
        }
    }

    /// <summary>The table's entities in key order, or null when there is no such table.</summary>
    public IReadOnlyList<TableRow>? Rows(string table)
    {
        lock (_gate)
        {
            return _tables.TryGetValue(table, out var rows) ? [.. rows.Values] : null;
        }
    }
}
