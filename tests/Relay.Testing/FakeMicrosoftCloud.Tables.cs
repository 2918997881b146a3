namespace Relay.Testing;

// The Azure Table service of the fake cloud (see TableStorageEndpoint): one storage account, path-style on the same
// loopback server, as Azurite serves it.
public sealed partial class FakeMicrosoftCloud
{
    private readonly TableStore _tables = new();

    /// <summary>
    /// The Table service endpoint, <c>https://127.0.0.1:{port}/relaystore</c>: Azure.Data.Tables reads an IP-address host as
    /// path-style, the first path segment being the account. No trailing slash: with one, the SDK asks for
    /// <c>/relaystore//{table}()</c>.
    /// </summary>
    public Uri TableEndpoint => new(AuthorityHost, TableStore.AccountName);

    /// <summary>The storage account's name, <c>relaystore</c>.</summary>
    public string TableAccountName => TableStore.AccountName;

    /// <summary>
    /// A connection string with the account's key, for <c>new TableClient(connectionString, table)</c>:
    /// <c>DefaultEndpointsProtocol=https;AccountName=relaystore;AccountKey=…;TableEndpoint=</c><see cref="TableEndpoint"/>.
    /// </summary>
    public string TableConnectionString =>
        $"DefaultEndpointsProtocol=https;AccountName={TableStore.AccountName};AccountKey={Convert.ToBase64String(_tables.AccountKey)};TableEndpoint={TableEndpoint}";

    /// <summary>The resource bearer tokens for the Table service must be issued for (scope <c>https://storage.azure.com/.default</c>).</summary>
    public string TableResource => TableStore.Resource;

    /// <summary>How many requests reached the Table service, refused and failed ones included.</summary>
    public int TableRequestCount => _tables.RequestCount;

    /// <summary>
    /// Called with the table name for each authenticated Table service request: return null to answer normally, or a
    /// <see cref="Testing.TableFault"/> to fail it. Called on server threads.
    /// </summary>
    public Func<string, TableFault?>? TableFault
    {
        get => _tables.Fault;
        set => _tables.Fault = value;
    }

    /// <summary>Creates an empty table (names are case-insensitive); nothing happens when it exists.</summary>
    /// <param name="table">The table name.</param>
    public void CreateTable(string table) => _tables.CreateTable(table);

    /// <summary>Inserts or replaces an entity with string properties, creating the table on first use.</summary>
    /// <param name="table">The table name.</param>
    /// <param name="partitionKey">The PartitionKey.</param>
    /// <param name="rowKey">The RowKey.</param>
    /// <param name="properties">Custom properties (not PartitionKey, RowKey or Timestamp), all of type Edm.String.</param>
    public void UpsertTableEntity(string table, string partitionKey, string rowKey, IReadOnlyDictionary<string, string> properties) =>
        _tables.Upsert(table, partitionKey, rowKey, properties);
}
