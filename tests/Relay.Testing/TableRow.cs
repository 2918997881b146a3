namespace Relay.Testing;

/// <summary>One entity in the fake Table service: its keys, its string properties and when it was last written.</summary>
internal sealed record TableRow(string PartitionKey, string RowKey, IReadOnlyDictionary<string, string> Properties, DateTimeOffset Timestamp)
{
    /// <summary>The value of a system or custom property, or null when the entity has no such property.</summary>
    public string? Get(string property) => property switch
    {
        "PartitionKey" => PartitionKey,
        "RowKey" => RowKey,
        _ => Properties.GetValueOrDefault(property),
    };
}
