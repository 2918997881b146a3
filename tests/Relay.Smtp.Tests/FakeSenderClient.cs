using Relay.Contracts;
using Relay.Smtp.Delivery;
using SmtpReply = Relay.Smtp.Protocol.SmtpReply;

namespace Relay.Smtp.Tests;

/// <summary>Relay.Sender stand-in for session tests: knows one login, records submissions, answers a set verdict.</summary>
internal sealed class FakeSenderClient : ISenderClient
{
    public const string Username = "printer";
    public const string Password = "correct horse";

    public List<(Envelope Envelope, byte[] Body)> Delivered { get; } = [];
    public List<AuthenticateRequest> Logins { get; } = [];
    public SmtpReply Verdict { get; set; } = new(250, "2.0.0", "Ok: queued");
    public bool Unreachable { get; set; }

    /// <summary>Answers successful logins with <c>login_needed_for_delivery</c>, as Relay.Sender does for app and mailbox logins.</summary>
    public bool LoginNeededForDelivery { get; set; }
    public int Cancelled { get; private set; }

    public Task<AuthenticateReply> AuthenticateAsync(AuthenticateRequest request, CancellationToken cancellationToken)
    {
        Logins.Add(request);
        var ok = request.Username == Username && request.Password == Password;
        return Task.FromResult(Unreachable
            ? Reply(false, 454, "4.7.0")
            : ok ? Reply(true, 235, "2.7.0") : Reply(false, 535, "5.7.8"));

        AuthenticateReply Reply(bool ok, int code, string enhanced) => new()
        {
            Succeeded = ok,
            Identity = ok ? Username : string.Empty,
            Reply = new Contracts.SmtpReply { Code = code, EnhancedCode = enhanced, Text = ok ? "Authentication successful" : "No" },
            LoginNeededForDelivery = ok && LoginNeededForDelivery,
        };
    }

    public Task<IMessageSubmission?> BeginSubmissionAsync(Envelope envelope, CancellationToken cancellationToken) =>
        Task.FromResult<IMessageSubmission?>(Unreachable ? null : new Submission(this, envelope));

    private sealed class Submission(FakeSenderClient owner, Envelope envelope) : IMessageSubmission
    {
        private readonly MemoryStream _body = new();
        private bool _completed;
        private bool _disposed;

        public ValueTask WriteAsync(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken)
        {
            _body.Write(chunk.Span);
            return ValueTask.CompletedTask;
        }

        public Task<SmtpReply> CompleteAsync(TimeSpan timeout)
        {
            _completed = true;
            owner.Delivered.Add((envelope, _body.ToArray()));
            return Task.FromResult(owner.Verdict);
        }

        public void Dispose()
        {
            if (!_completed && !_disposed)
            {
                owner.Cancelled++;
            }
            _disposed = true;
        }
    }
}
