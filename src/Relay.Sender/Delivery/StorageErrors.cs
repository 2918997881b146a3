using Relay.Contracts;

namespace Relay.Sender.Delivery;

/// <summary>
/// What a failure to store a message on this machine's disk (the spool, the pickup folder) means for the client. It is
/// never the client's fault and may pass, so it is 4xx: a full disk is <c>452 4.3.1</c> (RFC 5321 §4.2.2 "insufficient
/// system storage", RFC 3463 X.3.1 "mail system full"), any other I/O failure <c>451 4.3.0</c>.
/// </summary>
public static class StorageErrors
{
    // ENOSPC and EDQUOT: on Unix .NET carries the errno in HResult.
    private const int NoSpaceErrno = 28;
    private const int QuotaExceededErrno = 122;

    // ERROR_HANDLE_DISK_FULL and ERROR_DISK_FULL, as the HRESULTs Windows I/O exceptions carry.
    private const int HandleDiskFullHResult = unchecked((int)0x80070027);
    private const int DiskFullHResult = unchecked((int)0x80070070);

    public static SmtpReply InsufficientStorage { get; } = Replies.Create(452, "4.3.1", "Insufficient system storage; try again later");

    public static SmtpReply CouldNotStore { get; } = Replies.Create(451, "4.3.0", "Could not store the message; try again later");

    public static bool IsDiskFull(Exception exception) =>
        exception is IOException { HResult: NoSpaceErrno or QuotaExceededErrno or HandleDiskFullHResult or DiskFullHResult };

    /// <summary>The reply for an exception thrown while storing a message.</summary>
    public static SmtpReply ReplyFor(Exception exception) => IsDiskFull(exception) ? InsufficientStorage : CouldNotStore;
}
