using System.Buffers;
using System.Text;

namespace Relay.Smtp.Protocol;

/// <summary>
/// One SMTP reply: basic code (RFC 5321 §4.2), optional enhanced status code (RFC 3463, advertised as
/// ENHANCEDSTATUSCODES per RFC 2034) and text that is safe to show the client.
/// </summary>
public readonly record struct SmtpReply(int Code, string? EnhancedCode, string Text)
{
    public override string ToString() =>
        EnhancedCode is null ? $"{Code} {Text}" : $"{Code} {EnhancedCode} {Text}";

    /// <summary>Writes the reply as one line, or as a multi-line reply when the text has several lines.</summary>
    public void WriteTo(IBufferWriter<byte> output)
    {
        var lines = Text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var separator = i == lines.Length - 1 ? ' ' : '-';
            var line = EnhancedCode is null
                ? $"{Code}{separator}{lines[i]}\r\n"
                : $"{Code}{separator}{EnhancedCode} {lines[i]}\r\n";
            Encoding.UTF8.GetBytes(line, output);
        }
    }
}

/// <summary>The replies Relay.Smtp itself sends, by name. Replies about delivery come from Relay.Sender.</summary>
public static class SmtpReplies
{
    public static SmtpReply Greeting(string serverName) => new(220, null, $"{serverName} ESMTP Relay ready");
    public static SmtpReply AuthChallenge(string base64) => new(334, null, base64);
    /// <summary>The EHLO / HELO reply: no enhanced code, since it is sent before the client knows the server has them.</summary>
    public static SmtpReply Hello(string text) => new(250, null, text);
    public static SmtpReply Ok { get; } = new(250, "2.0.0", "Ok");
    public static SmtpReply SenderOk { get; } = new(250, "2.1.0", "Sender ok");
    public static SmtpReply RecipientOk { get; } = new(250, "2.1.5", "Recipient ok");
    public static SmtpReply StartMailInput { get; } = new(354, null, "End data with <CR><LF>.<CR><LF>");
    public static SmtpReply Bye { get; } = new(221, "2.0.0", "Bye");
    public static SmtpReply CannotVerify { get; } = new(252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery");
    public static SmtpReply Help { get; } = new(214, "2.0.0", "Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT");
    public static SmtpReply ReadyToStartTls { get; } = new(220, "2.0.0", "Ready to start TLS");
    public static SmtpReply ChunkReceived(long octets) => new(250, "2.0.0", $"{octets} octets received");

    public static SmtpReply CommandUnrecognized { get; } = new(500, "5.5.1", "Command unrecognized");
    public static SmtpReply LineTooLong { get; } = new(500, "5.5.2", "Line too long");
    public static SmtpReply NulInCommand { get; } = new(500, "5.5.2", "NUL characters are not allowed in commands");
    public static SmtpReply SyntaxError(string usage) => new(501, "5.5.4", $"Syntax: {usage}");
    public static SmtpReply InvalidBase64 { get; } = new(501, "5.5.2", "Cannot decode base64 response");
    public static SmtpReply AuthCancelled { get; } = new(501, "5.7.0", "Authentication cancelled");
    public static SmtpReply AuthLineTooLong { get; } = new(500, "5.5.6", "Authentication exchange line is too long");
    public static SmtpReply AuthorizationIdentityMismatch { get; } = new(535, "5.7.8", "Authorization identity must match the login");
    public static SmtpReply BadSequence(string expected) => new(503, "5.5.1", $"Bad sequence of commands: {expected}");
    public static SmtpReply AlreadyAuthenticated { get; } = new(503, "5.5.1", "Already authenticated");
    public static SmtpReply AlreadySecure { get; } = new(503, "5.5.1", "TLS is already active");
    public static SmtpReply UnknownAuthMechanism { get; } = new(504, "5.5.4", "Unrecognized authentication mechanism");
    public static SmtpReply AuthenticationRequired { get; } = new(530, "5.7.0", "Authentication required");
    public static SmtpReply TlsRequired { get; } = new(530, "5.7.0", "Must issue a STARTTLS command first");
    public static SmtpReply EncryptionRequired { get; } = new(538, "5.7.11", "Encryption required for requested authentication mechanism; use STARTTLS");
    public static SmtpReply ConnectionNotAllowed { get; } = new(554, "5.7.1", "Your address is not allowed to use this relay");
    public static SmtpReply NonAsciiAddress { get; } = new(553, "5.6.7", "Non-ASCII address needs the SMTPUTF8 parameter");
    public static SmtpReply BadSenderSyntax { get; } = new(553, "5.1.7", "Bad sender address syntax");
    public static SmtpReply BadRecipientSyntax { get; } = new(553, "5.1.3", "Bad recipient address syntax");
    public static SmtpReply UnsupportedParameter(string name) => new(555, "5.5.4", $"Unsupported parameter {name}");
    public static SmtpReply MessageTooBig { get; } = new(552, "5.3.4", "Message size exceeds fixed maximum message size");
    public static SmtpReply TooManyRecipients { get; } = new(452, "4.5.3", "Too many recipients");
    public static SmtpReply BareLineFeedRejected { get; } = new(550, "5.6.0", "Bare <LF> line endings are not allowed; use <CR><LF>");
    public static SmtpReply NulInContent { get; } = new(554, "5.6.0", "NUL characters are not allowed in a message");
    public static SmtpReply ContentLineTooLong(int limit) => new(550, "5.6.0", $"Message has a line longer than {limit} octets; wrap lines or use base64 or quoted-printable");

    public static SmtpReply ServiceUnavailable { get; } = new(451, "4.3.0", "Delivery service unavailable; try again later");
    public static SmtpReply AuthServiceUnavailable { get; } = new(454, "4.7.0", "Temporary authentication failure; try again later");
    public static SmtpReply TlsNotAvailable { get; } = new(454, "4.7.0", "TLS not available");
    public static SmtpReply TooManyConnections { get; } = new(421, "4.7.0", "Too many connections; try again later");
    public static SmtpReply TooManyErrors { get; } = new(421, "4.7.0", "Too many errors; closing connection");
    public static SmtpReply Timeout { get; } = new(421, "4.4.2", "Timeout exceeded; closing connection");
    public static SmtpReply DataRateTooLow { get; } = new(421, "4.4.2", "Data arriving too slowly; closing connection");
    public static SmtpReply SessionExpired { get; } = new(421, "4.4.2", "Session time limit reached; reconnect to continue");
    public static SmtpReply AuthLockedOut { get; } = new(421, "4.7.0", "Too many failed logins from your address; try again later");
    public static SmtpReply ShuttingDown { get; } = new(421, "4.3.2", "Service shutting down; try again later");
    public static SmtpReply InternalError { get; } = new(421, "4.3.0", "Internal error; closing connection");
}
