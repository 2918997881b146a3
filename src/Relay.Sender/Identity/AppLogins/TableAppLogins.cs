using System.Collections.Concurrent;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Data.Tables.Models;
using Azure.Identity;
using Microsoft.Extensions.Options;

namespace Relay.Sender.Identity.AppLogins;

/// <summary>
/// Lookup entries in Azure Table Storage (<c>Identity:AppLogins:Table</c>): the entity with PartitionKey
/// <c>Table:PartitionKey</c> and RowKey = the key, whose <c>TenantId</c> and <c>ClientId</c> are GUIDs (strings in either
/// form <see cref="AppLoginName.TryParseGuid"/> reads, or Edm.Guid) and whose optional <c>From</c> is an address. An entity
/// that breaks these rules counts as missing, with a warning naming the key and the property. Answers, found or not, are
/// remembered for <c>Table:CacheDuration</c>; concurrent lookups of one key share one request. Reached with a connection
/// string (shared key) or at <c>Table:Endpoint</c> with Relay's <see cref="TokenCredential"/>, over the named HttpClient
/// <see cref="HttpClientName"/>.
/// </summary>
public sealed partial class TableAppLogins : IAppLoginLookup
{
    /// <summary>The named HttpClient that carries Table requests (no resilience handler: Azure.Core retries on its own).</summary>
    public const string HttpClientName = "tables";

    /// <summary>How long one lookup may take, retries included, before the login is answered with a temporary failure.</summary>
    public static readonly TimeSpan LookupTimeout = TimeSpan.FromSeconds(15);

    // RowKey rules: at most 1 KiB, none of / \ # ? nor control characters. Such a key cannot be in the table.
    private const int MaxRowKeyLength = 1024;

    private readonly TableClient _client;
    private readonly string _partitionKey;
    private readonly AppLoginCache _cache;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<TableAppLogins> _logger;
    private readonly ConcurrentDictionary<string, Lazy<Task<AppLoginEntry?>>> _inFlight = new(StringComparer.Ordinal);

    /// <summary>Creates the Table client; nothing is sent until the first lookup.</summary>
    /// <param name="options">The identity options; <c>AppLogins:Table</c> must be configured.</param>
    /// <param name="credential">Relay's Azure identity, used when <c>Table:Endpoint</c> is set.</param>
    /// <param name="httpClientFactory">Supplies the <see cref="HttpClientName"/> client.</param>
    /// <param name="timeProvider">The clock the cache and the lookup timeout follow.</param>
    /// <param name="logger">Receives a warning for each failed lookup and each invalid entity; never a secret.</param>
    public TableAppLogins(IOptions<IdentityOptions> options, TokenCredential credential, IHttpClientFactory httpClientFactory, TimeProvider timeProvider, ILogger<TableAppLogins> logger)
    {
        var table = options.Value.AppLogins.Table;
        if (!table.IsConfigured)
        {
            throw new InvalidOperationException("Identity:AppLogins:Table is not configured: set Identity:AppLogins:Table:Endpoint or Identity:AppLogins:Table:ConnectionString.");
        }
        var clientOptions = new TableClientOptions
        {
            Transport = new HttpClientTransport(httpClientFactory.CreateClient(HttpClientName)),
            // A login waits for this: two quick retries of a throttled or failed request, then a temporary failure.
            Retry = { MaxRetries = 2, Delay = TimeSpan.FromMilliseconds(200), MaxDelay = TimeSpan.FromSeconds(2), NetworkTimeout = TimeSpan.FromSeconds(10) },
        };
        _client = string.IsNullOrWhiteSpace(table.ConnectionString)
            // Without a trailing slash: on a path-style endpoint (https://host/ACCOUNT/, as Azurite) the SDK would otherwise
            // ask for /ACCOUNT//TABLE(). A host-style endpoint (https://ACCOUNT.table.core.windows.net) is the same either way.
            ? new TableClient(new Uri(table.Endpoint!.TrimEnd('/')), table.TableName, credential, clientOptions)
            : CreateWithConnectionString(table.ConnectionString, table.TableName, clientOptions);
        _partitionKey = table.PartitionKey;
        _cache = new AppLoginCache(table.CacheDuration, timeProvider);
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The table's name.</summary>
    public string TableName => _client.Name;

    /// <summary>The storage account's name, as the SDK read it from the endpoint or connection string.</summary>
    public string AccountName => _client.AccountName;

    /// <inheritdoc />
    public async ValueTask<AppLoginEntry?> FindAsync(string key, CancellationToken cancellationToken)
    {
        if (!CanBeRowKey(key))
        {
            return null;
        }
        if (_cache.TryGet(key, out var cached))
        {
            return cached;
        }
        // One request per key at a time. It runs on its own timeout, not the first caller's token, so one client giving up
        // does not fail the others waiting for the same answer; each caller stops waiting when its own token says so.
        Lazy<Task<AppLoginEntry?>>? mine = null;
        mine = new Lazy<Task<AppLoginEntry?>>(() => LookUpAndRememberAsync(key, mine!));
        var shared = _inFlight.GetOrAdd(key, mine);
        return await shared.Value.WaitAsync(cancellationToken);
    }

    private async Task<AppLoginEntry?> LookUpAndRememberAsync(string key, Lazy<Task<AppLoginEntry?>> self)
    {
        try
        {
            var entry = await QueryAsync(key);
            _cache.Remember(key, entry);
            return entry;
        }
        finally
        {
            _inFlight.TryRemove(KeyValuePair.Create(key, self));
        }
    }

    private async Task<AppLoginEntry?> QueryAsync(string key)
    {
        using var timeout = new CancellationTokenSource(LookupTimeout, _timeProvider);
        // Parameterised: CreateQueryFilter writes each value as an OData string literal (a ' becomes ''), so whatever the
        // SMTP client sent as the key stays inside the RowKey literal and can only ever match that one RowKey. (A point read,
        // GetEntityIfExistsAsync, escapes the keys in its URL and would be as safe; either reads one row of one partition.)
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {_partitionKey} and RowKey eq {key}");
        try
        {
            await foreach (var entity in _client.QueryAsync<TableEntity>(filter, maxPerPage: 1, cancellationToken: timeout.Token))
            {
                return Validate(key, entity);
            }
            return null;
        }
        catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode == TableErrorCode.TableNotFound)
        {
            LogTableMissing(_logger, TableName, AccountName);
            throw new AppLoginLookupUnavailableException(
                $"The app-login table {TableName} does not exist in storage account {AccountName} (Identity:AppLogins:Table:TableName).", e);
        }
        catch (RequestFailedException e) when (e.Status == 0)
        {
            var reason = (e.InnerException ?? e).Message;
            LogUnreachable(_logger, TableName, AccountName, reason);
            throw new AppLoginLookupUnavailableException($"The app-login table {TableName} in storage account {AccountName} could not be reached: {reason}", e);
        }
        catch (RequestFailedException e)
        {
            var code = e.ErrorCode ?? "(no error code)";
            LogRefused(_logger, TableName, AccountName, e.Status, code);
            throw new AppLoginLookupUnavailableException(
                $"The app-login table {TableName} in storage account {AccountName} could not be read: {e.Status} {code}.", e);
        }
        catch (AuthenticationFailedException e)
        {
            // CredentialUnavailableException is one too: no managed identity, no developer login.
            LogNoToken(_logger, AccountName, e.GetType().Name, e.Message);
            throw new AppLoginLookupUnavailableException($"No token for storage account {AccountName}: {e.GetType().Name}.", e);
        }
        catch (AggregateException e)
        {
            // Azure.Core's retry policy, when every attempt failed without a response (connection refused, TLS, network timeout).
            var reason = $"{e.InnerExceptions.Count} attempts, the last: {e.InnerExceptions[^1].Message}";
            LogUnreachable(_logger, TableName, AccountName, reason);
            throw new AppLoginLookupUnavailableException($"The app-login table {TableName} in storage account {AccountName} could not be reached ({reason}).", e);
        }
        catch (HttpRequestException e)
        {
            LogUnreachable(_logger, TableName, AccountName, e.Message);
            throw new AppLoginLookupUnavailableException($"The app-login table {TableName} in storage account {AccountName} could not be reached: {e.Message}", e);
        }
        catch (OperationCanceledException e)
        {
            // No caller's token reaches the SDK: this is LookupTimeout, or Azure.Core's network timeout after its retries.
            LogTimedOut(_logger, TableName, AccountName, LookupTimeout);
            throw new AppLoginLookupUnavailableException($"The app-login table {TableName} in storage account {AccountName} did not answer within {LookupTimeout.TotalSeconds:0} s.", e);
        }
    }

    /// <summary>The entry the entity stands for, or null (with a warning) when it breaks the rules.</summary>
    private AppLoginEntry? Validate(string key, TableEntity entity)
    {
        if (!TryGetGuid(entity, "TenantId", out var tenantId))
        {
            LogInvalidEntity(_logger, key, TableName, "TenantId", "is missing or not a GUID (the directory/tenant ID)");
            return null;
        }
        if (!TryGetGuid(entity, "ClientId", out var clientId))
        {
            LogInvalidEntity(_logger, key, TableName, "ClientId", "is missing or not a GUID (the application/client ID)");
            return null;
        }
        string? from = null;
        if (entity.TryGetValue("From", out var fromValue) && fromValue is not null)
        {
            if (fromValue is not string text || (!string.IsNullOrWhiteSpace(text) && !SenderPattern.IsAddress(text)))
            {
                // Not ignored: an entry that means to force a From address must not become one that allows any.
                LogInvalidEntity(_logger, key, TableName, "From", "is not an address");
                return null;
            }
            from = string.IsNullOrWhiteSpace(text) ? null : text;
        }
        return new AppLoginEntry(tenantId.ToString("D"), clientId.ToString("D"), from);
    }

    private static bool TryGetGuid(TableEntity entity, string property, out Guid guid)
    {
        guid = Guid.Empty;
        entity.TryGetValue(property, out var value);
        switch (value)
        {
            case Guid typed:
                guid = typed;
                return true;
            case string text:
                return AppLoginName.TryParseGuid(text, out guid);
            default:
                return false;
        }
    }

    private static bool CanBeRowKey(string key) =>
        key.Length is > 0 and <= MaxRowKeyLength && !key.Any(c => c is '/' or '\\' or '#' or '?' || char.IsControl(c));

    private static TableClient CreateWithConnectionString(string connectionString, string tableName, TableClientOptions options)
    {
        try
        {
            return new TableClient(connectionString, tableName, options);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            // The parser's exception is not kept: the connection string is a secret and must not reach a log by accident.
            throw new InvalidOperationException(
                "Identity:AppLogins:Table:ConnectionString is not a storage connection string (AccountName=…;AccountKey=…;EndpointSuffix=… or TableEndpoint=…).");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "App-login lookup: table {TableName} does not exist in storage account {AccountName} (404 TableNotFound). Check Identity:AppLogins:Table:TableName; logins KEY@lookup get a temporary failure until it is fixed.")]
    private static partial void LogTableMissing(ILogger logger, string tableName, string accountName);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "App-login lookup: table {TableName} in storage account {AccountName} answered {Status} {ErrorCode}; the login gets a temporary failure.")]
    private static partial void LogRefused(ILogger logger, string tableName, string accountName, int status, string errorCode);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "App-login lookup: table {TableName} in storage account {AccountName} could not be reached ({Reason}); the login gets a temporary failure.")]
    private static partial void LogUnreachable(ILogger logger, string tableName, string accountName, string reason);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "App-login lookup: table {TableName} in storage account {AccountName} did not answer within {Timeout}; the login gets a temporary failure.")]
    private static partial void LogTimedOut(ILogger logger, string tableName, string accountName, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "App-login lookup: no token for storage account {AccountName}: {CredentialError}: {Reason}")]
    private static partial void LogNoToken(ILogger logger, string accountName, string credentialError, string reason);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "App-login lookup: the entry for {Key} in table {TableName} is ignored: its {Property} {Problem}.")]
    private static partial void LogInvalidEntity(ILogger logger, string key, string tableName, string property, string problem);
}
