using Microsoft.AspNetCore.Http;

namespace Relay.Testing;

/// <summary>Thread-safe record of every request, every accepted sendMail and the sendMail attempts per mailbox.</summary>
internal sealed class RequestJournal
{
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
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.ToArray();
        context.Request.Body = new MemoryStream(body, writable: false);

        await next(context);

        var request = context.Request;
        var headers = request.Headers.ToDictionary(header => header.Key, header => header.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var recorded = new RecordedRequest(request.Method, request.PathBase + request.Path, request.QueryString.Value ?? "", headers, body, context.Response.StatusCode);
        lock (_gate)
        {
            _requests.Add(recorded);
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

    public void Accept(SentMail mail)
    {
        lock (_gate)
        {
            _sentMail.Add(mail);
        }
    }
}
