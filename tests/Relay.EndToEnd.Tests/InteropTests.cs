using MimeKit;
using Relay.Testing;

namespace Relay.EndToEnd.Tests;

/// <summary>The SMTP clients people actually have — swaks and Python's smtplib — against Relay over real sockets.</summary>
public class InteropTests
{
    [Theory]
    [InlineData("LOGIN", false)]
    [InlineData("PLAIN", false)]
    [InlineData("LOGIN", true)]
    public async Task SwaksDeliversWithEachAuthMechanism(string mechanism, bool pipelining)
    {
        await using var stack = await RelayStack.StartAsync();
        string[] arguments =
        [
            "--server", $"127.0.0.1:{stack.SmtpPort}", "--auth", mechanism,
            "--auth-user", RelayStack.Account, "--auth-password", RelayStack.Password,
            "--from", "scanner@contoso.com", "--to", "alice@fabrikam.com",
            "--header", "Subject: swaks test", "--body", "Body line\n.starts with a dot", "--timeout", "30",
            .. pipelining ? new[] { "--pipeline" } : [],
        ];

        var result = await ExternalTool.RunAsync("swaks", arguments);

        Assert.True(result.ExitCode == 0, result.ToString());
        var stored = await MimeMessage.LoadAsync(Assert.Single(Directory.GetFiles(stack.PickupDirectory, "*.eml")));
        Assert.Equal("swaks test", stored.Subject);
        Assert.Contains("\n.starts with a dot", stored.TextBody?.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SwaksWithAWrongPasswordGets535()
    {
        await using var stack = await RelayStack.StartAsync();

        var result = await ExternalTool.RunAsync("swaks",
        [
            "--server", $"127.0.0.1:{stack.SmtpPort}", "--auth", "LOGIN", "--auth-user", RelayStack.Account,
            "--auth-password", "not-the-password", "--from", "scanner@contoso.com", "--to", "alice@fabrikam.com", "--timeout", "30",
        ]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("535 5.7.8", result.Output, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(stack.PickupDirectory));
    }

    [Fact]
    public async Task PythonSmtplibSendMessageWithBccReachesGraphAsBccOnly()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        await using var stack = await RelayStack.StartAsync(cloud);
        var script = $$"""
            import smtplib
            from email.message import EmailMessage
            m = EmailMessage()
            m['From'] = 'Scanner <scanner@contoso.com>'
            m['To'] = 'Alice <alice@fabrikam.com>'
            m['Bcc'] = 'bob@fabrikam.com'
            m['Subject'] = 'from python'
            m.set_content('hello from smtplib')
            with smtplib.SMTP('127.0.0.1', {{stack.SmtpPort}}, timeout=30) as s:
                s.login('{{RelayStack.Account}}', '{{RelayStack.Password}}')
                print(s.send_message(m))
            """;

        var result = await ExternalTool.RunAsync("python3", ["-c", script]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var sent = Assert.Single(cloud.SentMail);
        Assert.Equal("scanner@contoso.com", sent.Mailbox);
        var delivered = MimeMessage.Load(new MemoryStream(sent.Mime!));
        Assert.Equal(["bob@fabrikam.com"], delivered.Bcc.Mailboxes.Select(m => m.Address));
        Assert.Equal(["alice@fabrikam.com"], delivered.To.Mailboxes.Select(m => m.Address));
        Assert.Equal("from python", delivered.Subject);
    }
}
