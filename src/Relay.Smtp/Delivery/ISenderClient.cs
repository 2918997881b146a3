using Relay.Contracts;
using Relay.Smtp.Protocol;
using SmtpReply = Relay.Smtp.Protocol.SmtpReply;

namespace Relay.Smtp.Delivery;

/// <summary>Relay.Sender as the SMTP session sees it. Transport failures come back as SMTP replies, never as exceptions.</summary>
public interface ISenderClient
{
    /// <summary>Verifies a login; an unreachable Sender yields <c>454 4.7.0</c>.</summary>
    Task<AuthenticateReply> AuthenticateAsync(AuthenticateRequest request, CancellationToken cancellationToken);

    /// <summary>Opens a submission and sends the envelope; null when the Sender cannot be reached.</summary>
    Task<IMessageSubmission?> BeginSubmissionAsync(Envelope envelope, CancellationToken cancellationToken);
}

/// <summary>One message on its way to Relay.Sender. Disposing it before <see cref="CompleteAsync"/> cancels it.</summary>
public interface IMessageSubmission : IDisposable
{
    ValueTask WriteAsync(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken);

    /// <summary>Ends the body and waits for the Sender's verdict; <c>451</c> if it does not come within <paramref name="timeout"/>.</summary>
    Task<SmtpReply> CompleteAsync(TimeSpan timeout);
}
