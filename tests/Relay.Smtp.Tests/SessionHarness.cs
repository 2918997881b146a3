using System.IO.Pipelines;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Relay.Smtp.Policy;
using Relay.Smtp.Protocol;
using Relay.Smtp.Tls;
using Relay.Testing;

namespace Relay.Smtp.Tests;

public enum Segmentation { Whole, OneByte, LineByLine }

/// <summary>Runs an <see cref="SmtpSession"/> over in-memory pipes and returns everything the server wrote.</summary>
internal static class SessionHarness
{
    public static readonly IPAddress RemoteClient = IPAddress.Parse("192.0.2.10");

    /// <summary>Test defaults: a small size limit, no AUTH tarpit, and AUTH allowed in clear text (TLS tests turn it back on).</summary>
    public static SmtpOptions Options(Action<SmtpOptions>? configure = null)
    {
        var options = new SmtpOptions { ServerName = "relay.test", MaxMessageSize = 10_000, AuthFailureDelay = TimeSpan.Zero };
        options.Tls.RequireForAuth = false;
        configure?.Invoke(options);
        return options;
    }

    public static readonly string PlainLogin = B64($"\0{FakeSenderClient.Username}\0{FakeSenderClient.Password}");

    public static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// Replays a transcript whole, one byte per segment and one line per segment; the three outputs must be identical.
    /// Returns the reply codes and the sender of the first run.
    /// </summary>
    public static async Task<(string[] Codes, FakeSenderClient Sender)> ReplayAsync(
        string transcript, Action<SmtpOptions>? configure = null, Action<FakeSenderClient>? arrange = null, bool exactBytes = false)
    {
        // Raw string transcripts have LF line ends in source; exactBytes keeps deliberate bare LFs as they are.
        var wire = exactBytes ? transcript : transcript.ReplaceLineEndings("\r\n");
        string? first = null;
        FakeSenderClient? firstSender = null;
        foreach (var segmentation in Enum.GetValues<Segmentation>())
        {
            var sender = new FakeSenderClient();
            arrange?.Invoke(sender);
            var output = await RunAsync(wire, segmentation, sender, Options(configure));
            first ??= output;
            firstSender ??= sender;
            Assert.Equal(first, output);
        }
        return (ReplyCodes(first!), firstSender!);
    }

    public static SmtpServerContext Server(
        FakeSenderClient sender, SmtpOptions options, TimeProvider? time = null, ServerCertificate? certificate = null)
    {
        time ??= TimeProvider.System;
        return new SmtpServerContext(options, sender, new NetworkPolicy(options),
            new AuthFailureThrottle(Microsoft.Extensions.Options.Options.Create(options), time), certificate, time, NullLogger.Instance);
    }

    public static async Task<string> RunAsync(
        string clientInput, Segmentation segmentation, FakeSenderClient sender, SmtpOptions? options = null, IPAddress? client = null,
        SmtpServerContext? server = null, CancellationToken stopping = default)
    {
        return Encoding.UTF8.GetString(await RunAsync(Encoding.UTF8.GetBytes(clientInput), segmentation, sender, options, client, server, stopping));
    }

    public static async Task<byte[]> RunAsync(
        byte[] clientInput, Segmentation segmentation, FakeSenderClient sender, SmtpOptions? options = null, IPAddress? client = null,
        SmtpServerContext? server = null, CancellationToken stopping = default)
    {
        var toServer = new Pipe();
        var fromServer = new Pipe();
        var session = new SmtpSession("session-1", client ?? RemoteClient,
            new SmtpTransport(new DuplexPipe(toServer.Reader, fromServer.Writer), TimeProvider.System),
            server ?? Server(sender, options ?? Options()));

        var running = session.RunAsync(stopping);
        foreach (var segment in Segments(clientInput, segmentation))
        {
            await toServer.Writer.WriteAsync(segment);
            await Task.Yield();
        }
        await toServer.Writer.CompleteAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30));
        await fromServer.Writer.CompleteAsync();

        using var output = new MemoryStream();
        await fromServer.Reader.AsStream().CopyToAsync(output);
        return output.ToArray();
    }

    /// <summary>The final line of each reply, as "CODE ENHANCED" or "CODE" when there is no enhanced code.</summary>
    public static string[] ReplyCodes(string output) =>
        output.Split("\r\n", StringSplitOptions.RemoveEmptyEntries)
            .Where(line => line.Length > 3 && line[3] == ' ')
            .Select(ReplyCode)
            .ToArray();

    public static string ReplyCode(string line)
    {
        var parts = line.Split(' ');
        return parts.Length > 1 && parts[1].Length >= 5 && char.IsDigit(parts[1][0]) && parts[1][1] == '.'
            ? $"{parts[0]} {parts[1]}"
            : parts[0];
    }

    private static IEnumerable<ReadOnlyMemory<byte>> Segments(byte[] input, Segmentation segmentation)
    {
        switch (segmentation)
        {
            case Segmentation.Whole:
                yield return input;
                break;
            case Segmentation.OneByte:
                for (var i = 0; i < input.Length; i++)
                {
                    yield return input.AsMemory(i, 1);
                }
                break;
            case Segmentation.LineByLine:
                var start = 0;
                for (var i = 0; i < input.Length; i++)
                {
                    if (input[i] == (byte)'\n')
                    {
                        yield return input.AsMemory(start, i + 1 - start);
                        start = i + 1;
                    }
                }
                if (start < input.Length)
                {
                    yield return input.AsMemory(start);
                }
                break;
        }
    }
}

internal sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;

/// <summary>
/// A session the test talks to reply by reply, on a <see cref="FakeTimeProvider"/> so that timeouts are reached by
/// advancing the clock, not by waiting.
/// </summary>
internal sealed class LiveSession : IAsyncDisposable
{
    private readonly Pipe _toServer = new();
    private readonly Pipe _fromServer = new();
    private readonly StreamReader _replies;
    private readonly Task _running;

    public LiveSession(FakeSenderClient sender, SmtpOptions options, FakeTimeProvider time, IPAddress? client = null)
    {
        Time = time;
        Server = SessionHarness.Server(sender, options, time);
        var session = new SmtpSession("live", client ?? SessionHarness.RemoteClient,
            new SmtpTransport(new DuplexPipe(_toServer.Reader, _fromServer.Writer), time), Server);
        _running = Task.Run(async () =>
        {
            await session.RunAsync(CancellationToken.None);
            await _fromServer.Writer.CompleteAsync();
        });
        _replies = new StreamReader(_fromServer.Reader.AsStream(), Encoding.UTF8);
    }

    public FakeTimeProvider Time { get; }
    public SmtpServerContext Server { get; }
    public Task Ended => _running;

    public async Task SendAsync(string text) => await _toServer.Writer.WriteAsync(Encoding.UTF8.GetBytes(text));

    /// <summary>Reads one whole reply and returns its code ("250 2.0.0"); null when the server closed the session.</summary>
    public async Task<string?> ReadReplyAsync()
    {
        while (true)
        {
            var line = await _replies.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            if (line is null)
            {
                return null;
            }
            if (line.Length > 3 && line[3] == ' ')
            {
                return SessionHarness.ReplyCode(line);
            }
        }
    }

    public async Task<string?> SendAndReadAsync(string line)
    {
        await SendAsync(line + "\r\n");
        return await ReadReplyAsync();
    }

    /// <summary>Greeting, EHLO, AUTH, MAIL and RCPT, up to the 354 of DATA.</summary>
    public async Task OpenDataAsync()
    {
        await ReadReplyAsync();
        await SendAndReadAsync("EHLO x");
        Assert.Equal("235 2.7.0", await SendAndReadAsync($"AUTH PLAIN {SessionHarness.PlainLogin}"));
        await SendAndReadAsync("MAIL FROM:<a@contoso.com>");
        await SendAndReadAsync("RCPT TO:<b@fabrikam.com>");
        Assert.Equal("354", await SendAndReadAsync("DATA"));
    }

    public async ValueTask DisposeAsync()
    {
        await _toServer.Writer.CompleteAsync();
        await _running.WaitAsync(TimeSpan.FromSeconds(30));
    }
}

/// <summary>A certificate in PEM files for <see cref="SmtpOptions.Tls"/>, deleted on dispose.</summary>
internal sealed class TestCertificateFiles : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("relay-smtp-tls-");

    public TestCertificateFiles(SmtpOptions options)
    {
        LoopbackCertificate.WritePemFiles(_directory.FullName, "relay.test");
        options.Tls.CertificatePath = Path.Combine(_directory.FullName, "cert.pem");
        options.Tls.KeyPath = Path.Combine(_directory.FullName, "key.pem");
    }

    public ServerCertificate Load(SmtpOptions options) =>
        new(Microsoft.Extensions.Options.Options.Create(options), NullLogger<ServerCertificate>.Instance, TimeProvider.System);

    public void Dispose() => _directory.Delete(recursive: true);
}
