using Microsoft.AspNetCore.Http;

namespace Relay.Testing;

/// <summary>Thread-safe record of every request, every accepted sendMail and the sendMail attempts per mailbox.</summary>
internal sealed class RequestJournal
{
    /// <summary>The <see cref="HttpContext.Items"/> key of the <see cref="DateTimeOffset"/> the request reached the fake.</summary>
    public static readonly object ReceivedAtKey = new();

    private static readonly object DroppedKey = new();

    private readonly Lock _gate = new();
    private readonly List<RecordedRequest> _requests = [];
    private readonly List<SentMail> _sentMail = [];
    private readonly Dictionary<string, int> _attemptsByMailbox = new(StringComparer.OrdinalIgnoreCase);

    public RecordedRequest[] Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    public SentMail[] SentMail
    {
        get
        {
            lock (_gate)
            {
                return [.. _sentMail];
            }
        }
    }

    /// <summary>Middleware: buffers the request body (so it can be recorded and still read by the endpoint) and records the exchange.</summary>
    public async Task RecordAsync(HttpContext context, RequestDelegate next)
    {
        var receivedAt = DateTimeOffset.UtcNow;
        context.Items[ReceivedAtKey] = receivedAt;
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.ToArray();
        context.Request.Body = new MemoryStream(body, writable: false);

        await next(context);

        var request = context.Request;
        var headers = request.Headers.ToDictionary(header => header.Key, header => header.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var statusCode = context.RequestAborted.IsCancellationRequested || context.Items.ContainsKey(DroppedKey) ? 0 : context.Response.StatusCode;
        var recorded = new RecordedRequest(request.Method, request.PathBase + request.Path, request.QueryString.Value ?? "", headers, body, statusCode)
        {
            ReceivedAt = receivedAt,
            CompletedAt = DateTimeOffset.UtcNow,
            Host = request.Host.Host,
        };
        lock (_gate)
        {
            _requests.Add(recorded);
        }
    }

    /// <summary>Forgets every recorded request and accepted sendMail (the attempt counts stay).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _requests.Clear();
            _sentMail.Clear();
        }
    }

    /// <summary>Counts one more sendMail attempt for <paramref name="mailbox"/> and returns the 1-based total.</summary>
    public int CountAttempt(string mailbox)
    {
        lock (_gate)
        {
            var attempt = _attemptsByMailbox.GetValueOrDefault(mailbox) + 1;
            _attemptsByMailbox[mailbox] = attempt;
            return attempt;
        }
    }

    /// <summary>When the request reached the fake, as recorded by <see cref="RecordAsync"/>.</summary>
    public static DateTimeOffset ReceivedAt(HttpContext context) =>
        context.Items.TryGetValue(ReceivedAtKey, out var value) && value is DateTimeOffset receivedAt ? receivedAt : DateTimeOffset.UtcNow;

    /// <summary>Notes that the fake is dropping the connection (Kestrel signals <see cref="HttpContext.RequestAborted"/> asynchronously).</summary>
    public static void MarkDropped(HttpContext context) => context.Items[DroppedKey] = true;

    public void Accept(SentMail mail)
    {
        lock (_gate)
        {
            _sentMail.Add(mail);
        }
    }
}
