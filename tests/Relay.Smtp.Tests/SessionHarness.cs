using System.IO.Pipelines;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Relay.Smtp.Protocol;

namespace Relay.Smtp.Tests;

public enum Segmentation { Whole, OneByte, LineByLine }

/// <summary>Runs an <see cref="SmtpSession"/> over in-memory pipes and returns everything the server wrote.</summary>
internal static class SessionHarness
{
    public static SmtpOptions Options(Action<SmtpOptions>? configure = null)
    {
        var options = new SmtpOptions { ServerName = "relay.test", MaxMessageSize = 10_000 };
        configure?.Invoke(options);
        return options;
    }

    public static async Task<string> RunAsync(
        string clientInput, Segmentation segmentation, FakeSenderClient sender, SmtpOptions? options = null, IPAddress? client = null)
    {
        options ??= Options();
        var toServer = new Pipe();
        var fromServer = new Pipe();
        var session = new SmtpSession("session-1", client ?? IPAddress.Parse("192.0.2.10"),
            new SmtpTransport(toServer.Reader, fromServer.Writer), options, sender, SmtpCommandSet.Default,
            new NetworkPolicy(options.Anonymous.AllowedNetworks), NullLogger.Instance);

        var running = session.RunAsync(CancellationToken.None);
        foreach (var segment in Segments(Encoding.UTF8.GetBytes(clientInput), segmentation))
        {
            await toServer.Writer.WriteAsync(segment);
            await Task.Yield();
        }
        await toServer.Writer.CompleteAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30));
        await fromServer.Writer.CompleteAsync();

        using var output = new MemoryStream();
        await fromServer.Reader.AsStream().CopyToAsync(output);
        return Encoding.UTF8.GetString(output.ToArray());
    }

    /// <summary>The final line of each reply, as "CODE ENHANCED" or "CODE" when there is no enhanced code.</summary>
    public static string[] ReplyCodes(string output) =>
        output.Split("\r\n", StringSplitOptions.RemoveEmptyEntries)
            .Where(line => line.Length > 3 && line[3] == ' ')
            .Select(line =>
            {
                var parts = line.Split(' ');
                return parts.Length > 1 && parts[1].Length >= 5 && char.IsDigit(parts[1][0]) && parts[1][1] == '.'
                    ? $"{parts[0]} {parts[1]}"
                    : parts[0];
            })
            .ToArray();

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
