using System.Text;
using MimeKit;
using Relay.Sender.Delivery;

namespace Relay.Sender.Tests.Delivery;

public sealed class QuotedPrintableReencoderTests
{
    // MimeKit needs the code pages provider for charsets such as iso-8859-2 (otherwise it falls back to Latin-1).
    static QuotedPrintableReencoderTests() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    /// <summary>Base64 as the re-encoder writes it: 76-character lines.</summary>
    private static string Base64Lines(string decoded, string newLine = "\r\n") =>
        string.Join(newLine, Convert.ToBase64String(Bytes(decoded)).Chunk(76).Select(c => new string(c)));

    /// <summary>What MimeKit decodes each leaf part of the message to, in order.</summary>
    private static byte[][] DecodedLeaves(byte[] message) =>
        [.. MimeMessage.Load(new MemoryStream(message)).BodyParts.OfType<MimePart>().Select(part =>
        {
            using var decoded = new MemoryStream();
            part.Content!.DecodeTo(decoded);
            return decoded.ToArray();
        })];

    private static void AssertUntouched(string message)
    {
        var original = Bytes(message);

        var reencoding = QuotedPrintableReencoder.Find(original);

        Assert.Equal(0, reencoding.Parts);
        Assert.Empty(reencoding.Splices);
        Assert.Same(original, QuotedPrintableReencoder.Reencode(original));
    }

    [Fact]
    public void AMessageWithoutQuotedPrintablePartsIsByteIdentical()
    {
        // Odd spacing and folding, preamble, epilogue, 8bit text, a base64 attachment and no final line break.
        AssertUntouched(
            "From:   printer@contoso.com\r\n" +
            "Subject: =?utf-8?Q?Gr=C3=BC=C3=9Fe?=\r\n" +
            "Content-Type: multipart/mixed;\r\n\tboundary=\"b1\"\r\n" +
            "\r\n" +
            "This is the preamble.\r\n" +
            "--b1\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\n" +
            "Content-Transfer-Encoding: 8bit\r\n" +
            "\r\n" +
            "Grüße, line with trailing space \r\n" +
            "--b1\r\n" +
            "Content-Type: application/pdf; name=scan.pdf\r\n" +
            "Content-Transfer-Encoding: base64\r\n" +
            "\r\n" +
            "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K\r\n" +
            "--b1--\r\n" +
            "epilogue =3D not decoded");
    }

    [Fact]
    public void AQuotedPrintableHtmlPartBecomesBase64AndNothingElseChanges()
    {
        // A soft line break followed by a hex digit ("=\r\nc") is what Graph is reported to mangle.
        const string html = "<p class=\"center\">Grüße from the third floor printer, and a long enough line to wrap</p>\r\n<p>2 + 2 = 4</p>";
        const string quotedPrintable =
            "<p class=3D\"=\r\ncenter\">Gr=C3=BC=C3=9Fe from the third floor printer, and a long enough line t=\r\no wrap</p>\r\n<p>2 + 2 =3D 4</p>";
        string Message(string encoding, string content) =>
            "From: printer@contoso.com\r\n" +
            "Content-Type: multipart/alternative; boundary=\"alt\"\r\n" +
            "\r\n" +
            "--alt\r\n" +
            "Content-Type: text/plain; charset=us-ascii\r\n" +
            "Content-Transfer-Encoding: 7bit\r\n" +
            "\r\n" +
            "plain =3D text stays\r\n" +
            "--alt\r\n" +
            "Content-Type: text/html; charset=utf-8\r\n" +
            $"Content-Transfer-Encoding: {encoding}\r\n" +
            "X-Part-Header: kept\r\n" +
            "\r\n" +
            content + "\r\n" +
            "--alt--\r\n";
        var original = Bytes(Message("quoted-printable", quotedPrintable));

        var result = QuotedPrintableReencoder.Reencode(original);

        Assert.Equal(Message("base64", Base64Lines(html)), Text(result));
        Assert.Equal(DecodedLeaves(original), DecodedLeaves(result));
        Assert.Equal(Bytes(html), DecodedLeaves(result)[1]);
    }

    [Fact]
    public void QuotedPrintablePartsInNestedMultipartsAreAllReencoded()
    {
        var original = Bytes(
            "From: printer@contoso.com\r\n" +
            "MIME-Version: 1.0\r\n" +
            "Content-Type: multipart/mixed; boundary=outer\r\n" +
            "\r\n" +
            "--outer\r\n" +
            "Content-Type: multipart/related; boundary=related\r\n" +
            "\r\n" +
            "--related\r\n" +
            "Content-Type: multipart/alternative; boundary=alt\r\n" +
            "\r\n" +
            "--alt\r\n" +
            "Content-Type: text/plain; charset=iso-8859-2\r\n" +
            "Content-Transfer-Encoding: quoted-printable\r\n" +
            "\r\n" +
            "Sz=E1mla =B3=F3d=BC\r\n" +
            "--alt\r\n" +
            "Content-Type: text/html; charset=iso-8859-2\r\n" +
            "Content-Transfer-Encoding: Quoted-Printable\r\n" +
            "\r\n" +
            "<p style=3D\"color:=\r\nred\">Sz=E1mla</p>\r\n" +
            "--alt--\r\n" +
            "\r\n" +
            "--related\r\n" +
            "Content-Type: image/png\r\n" +
            "Content-Transfer-Encoding: base64\r\n" +
            "Content-ID: <logo>\r\n" +
            "\r\n" +
            "iVBORw0KGgo=\r\n" +
            "--related--\r\n" +
            "--outer\r\n" +
            "Content-Type: text/csv; name=report.csv\r\n" +
            "Content-Disposition: attachment; filename=report.csv\r\n" +
            "Content-Transfer-Encoding: quoted-printable\r\n" +
            "\r\n" +
            "a;b;c=\r\n;d\r\n1;2;3;4\r\n" +
            "--outer--\r\n");

        var reencoding = QuotedPrintableReencoder.Find(original);
        var result = QuotedPrintableReencoder.Reencode(original);

        Assert.Equal(3, reencoding.Parts);
        Assert.Equal(DecodedLeaves(original), DecodedLeaves(result));
        var parts = MimeMessage.Load(new MemoryStream(result)).BodyParts.OfType<MimePart>().ToArray();
        Assert.Equal(
            [ContentEncoding.Base64, ContentEncoding.Base64, ContentEncoding.Base64, ContentEncoding.Base64],
            parts.Select(p => p.ContentTransferEncoding));
        Assert.Equal("Számla łódź", ((TextPart)parts[0]).Text.TrimEnd());
        // Boundaries and part headers other than the encoding are where they were.
        Assert.Equal(
            Text(original).Split("\r\n").Where(l => l.StartsWith("--", StringComparison.Ordinal) || l.StartsWith("Content-Type", StringComparison.Ordinal)),
            Text(result).Split("\r\n").Where(l => l.StartsWith("--", StringComparison.Ordinal) || l.StartsWith("Content-Type", StringComparison.Ordinal)));
    }

    [Fact]
    public void APartAlreadyInBase64IsUntouched()
    {
        AssertUntouched(
            "From: printer@contoso.com\r\n" +
            "Content-Type: text/html; charset=utf-8\r\n" +
            "Content-Transfer-Encoding: base64\r\n" +
            "\r\n" +
            "PHA+aGk8L3A+\r\n");
    }

    [Fact]
    public void An8BitPartIsUntouched()
    {
        AssertUntouched(
            "From: printer@contoso.com\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\n" +
            "Content-Transfer-Encoding: 8bit\r\n" +
            "\r\n" +
            "Grüße =3D not an escape here\r\n");
    }

    [Fact]
    public void AMessageWithoutContentTransferEncodingIsUntouched()
    {
        AssertUntouched("From: printer@contoso.com\r\nSubject: hi\r\n\r\nbody =3D as is\r\n");
    }

    [Fact]
    public void EverythingUnderMultipartSignedIsUntouchedButQuotedPrintableBesideItIsNot()
    {
        const string signed =
            "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=signed\r\n" +
            "\r\n" +
            "--signed\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\n" +
            "Content-Transfer-Encoding: quoted-printable\r\n" +
            "\r\n" +
            "Signed text =C3=BC=\r\nnder the signature\r\n" +
            "--signed\r\n" +
            "Content-Type: application/pkcs7-signature; name=smime.p7s\r\n" +
            "Content-Transfer-Encoding: base64\r\n" +
            "\r\n" +
            "MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwEAAA==\r\n" +
            "--signed--\r\n";
        AssertUntouched("From: printer@contoso.com\r\nMIME-Version: 1.0\r\n" + signed);

        var beside =
            "From: printer@contoso.com\r\n" +
            "Content-Type: multipart/mixed; boundary=mixed\r\n" +
            "\r\n" +
            "--mixed\r\n" +
            signed +
            "--mixed\r\n" +
            "Content-Type: text/plain\r\n" +
            "Content-Transfer-Encoding: quoted-printable\r\n" +
            "\r\n" +
            "outside =3D the signature\r\n" +
            "--mixed--\r\n";
        var result = Text(QuotedPrintableReencoder.Reencode(Bytes(beside)));

        Assert.Contains(signed, result, StringComparison.Ordinal);
        Assert.EndsWith(
            "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" + Base64Lines("outside = the signature") + "\r\n--mixed--\r\n",
            result, StringComparison.Ordinal);
    }

    [Fact]
    public void OpaqueSmimeAndEncryptedPartsAreUntouched()
    {
        AssertUntouched(
            "From: printer@contoso.com\r\n" +
            "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n" +
            "Content-Transfer-Encoding: quoted-printable\r\n" +
            "\r\n" +
            "0=80=06\r\n");
        AssertUntouched(
            "From: printer@contoso.com\r\n" +
            "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=enc\r\n" +
            "\r\n" +
            "--enc\r\n" +
            "Content-Type: application/pgp-encrypted\r\n" +
            "Content-Transfer-Encoding: quoted-printable\r\n" +
            "\r\n" +
            "Version: 1\r\n" +
            "--enc\r\n" +
            "Content-Type: application/octet-stream\r\n" +
            "\r\n" +
            "-----BEGIN PGP MESSAGE-----\r\n" +
            "--enc--\r\n");
    }

    [Fact]
    public void AnAttachedMessageKeepsItsOwnBytes()
    {
        AssertUntouched(
            "From: printer@contoso.com\r\n" +
            "Content-Type: multipart/mixed; boundary=mixed\r\n" +
            "\r\n" +
            "--mixed\r\n" +
            "Content-Type: message/rfc822\r\n" +
            "\r\n" +
            "From: someone@example.com\r\n" +
            "Subject: forwarded\r\n" +
            "Content-Type: text/html\r\n" +
            "Content-Transfer-Encoding: quoted-printable\r\n" +
            "\r\n" +
            "<p class=3D=\r\n\"c\">original bytes</p>\r\n" +
            "--mixed--\r\n");
    }

    [Theory]
    [InlineData("soft break with spaces after it = \r\nand on")]
    [InlineData("bare CR soft break =\rand on")]
    [InlineData("invalid escape =ZZ and =4 and lower =c3=bc")]
    [InlineData("a lone equals sign at the very end =")]
    [InlineData("trailing whitespace on a hard line   \r\nnext")]
    public void MalformedQuotedPrintableDecodesAsMimeKitDecodesIt(string content)
    {
        var original = Bytes(
            "From: printer@contoso.com\r\n" +
            "Content-Type: multipart/mixed; boundary=mixed\r\n" +
            "\r\n" +
            "--mixed\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\n" +
            "Content-Transfer-Encoding: quoted-printable\r\n" +
            "\r\n" +
            content + "\r\n" +
            "--mixed--\r\n");

        var result = QuotedPrintableReencoder.Reencode(original);

        Assert.NotEqual(original, result);
        Assert.Equal(DecodedLeaves(original), DecodedLeaves(result));
    }

    [Fact]
    public void ASinglePartMessageKeepsItsHeadersAndItsFinalLineBreak()
    {
        var original = Bytes(
            "Received: from somewhere\r\n" +
            "From: printer@contoso.com\r\n" +
            "content-transfer-encoding:\r\n" +
            "   QUOTED-PRINTABLE\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\n" +
            "Subject: scan\r\n" +
            "\r\n" +
            "Gr=C3=BC=C3=9Fe\r\n");

        var result = Text(QuotedPrintableReencoder.Reencode(original));

        Assert.Equal(
            "Received: from somewhere\r\n" +
            "From: printer@contoso.com\r\n" +
            "content-transfer-encoding: base64\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\n" +
            "Subject: scan\r\n" +
            "\r\n" +
            Base64Lines("Grüße\r\n") + "\r\n",
            result);
    }

    [Fact]
    public void LongContentIsWrittenInLinesOf76()
    {
        var text = string.Concat(Enumerable.Repeat("The quick brown fox =E2=9C=93 jumps over the lazy dog.=\r\n", 200));
        var original = Bytes("From: printer@contoso.com\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + text + "\r\n");

        var result = QuotedPrintableReencoder.Reencode(original);

        var body = Text(result).Split("\r\n\r\n", 2)[1];
        Assert.All(body.TrimEnd().Split("\r\n")[..^1], line => Assert.Equal(76, line.Length));
        Assert.Equal(DecodedLeaves(original), DecodedLeaves(result));
    }

    [Fact]
    public void ABareLineFeedMessageGetsBareLineFeedBase64()
    {
        var original = Bytes("From: printer@contoso.com\nContent-Transfer-Encoding: quoted-printable\n\n" +
            string.Concat(Enumerable.Repeat("0123456789", 12)) + "\n");

        var result = Text(QuotedPrintableReencoder.Reencode(original));

        Assert.Equal("From: printer@contoso.com\nContent-Transfer-Encoding: base64\n\n" +
            Base64Lines(string.Concat(Enumerable.Repeat("0123456789", 12)) + "\n", "\n") + "\n", result);
        Assert.DoesNotContain('\r', result);
    }

    [Fact]
    public void APartWithTwoTransferEncodingFieldsIsUntouched()
    {
        AssertUntouched(
            "From: printer@contoso.com\r\n" +
            "Content-Transfer-Encoding: quoted-printable\r\n" +
            "Content-Transfer-Encoding: base64\r\n" +
            "\r\n" +
            "aGk=\r\n");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(56)]
    [InlineData(57)]
    [InlineData(58)]
    [InlineData(114)]
    public void Base64LinesBreakAfterEvery57DecodedBytes(int length)
    {
        var decoded = new string('x', length);
        var original = Bytes("From: printer@contoso.com\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + decoded);

        var result = Text(QuotedPrintableReencoder.Reencode(original));

        Assert.Equal("From: printer@contoso.com\r\nContent-Transfer-Encoding: base64\r\n\r\n" + Base64Lines(decoded), result);
    }
}
