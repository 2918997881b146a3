using System.Buffers.Text;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Azure.Identity;
using Microsoft.Identity.Client;
using Relay.Testing;
using static Relay.Sender.Tests.FakeCloud.FakeCloudClients;

namespace Relay.Sender.Tests.FakeCloud;

/// <summary>Certificate client assertions against <see cref="FakeMicrosoftCloud"/>, from the real ClientCertificateCredential and by hand.</summary>
public sealed class FakeMicrosoftCloudCertificateTests
{
    private const string TenantId = "0b6d2f4e-8a1c-4e3b-9d7f-5c2a1e0b9d84";
    private const string ClientId = "6e1a9c3d-2b7f-4d05-8e6a-3f9b1c7d2e50";
    private const string Mailbox = "relay@contoso.com";

    [Fact]
    public async Task ClientCertificateCredentialGetsATokenThatGraphAcceptsForSendMail()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var certificate = LoopbackCertificate.Create("Relay app credential");
        cloud.RegisterAppCertificate(TenantId, ClientId, certificate);
        var credential = new ClientCertificateCredential(TenantId, ClientId, certificate, Configure(cloud, new ClientCertificateCredentialOptions()));
        using var graph = Graph(cloud, credential);

        await SendMimeAsync(graph, Mailbox);

        var mail = Assert.Single(cloud.SentMail);
        Assert.Equal(Mailbox, mail.Mailbox);
        Assert.Equal(ClientId, mail.Principal);
        Assert.False(mail.IsDelegated);
        // What MSAL sent: a PS256 assertion naming the certificate by x5t#S256, addressed to this very token endpoint.
        var form = Form(Assert.Single(TokenRequests(cloud)));
        Assert.Equal("client_credentials", form["grant_type"]);
        Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", form["client_assertion_type"]);
        Assert.False(form.ContainsKey("client_secret"));
        var (header, payload) = Decode(form["client_assertion"]);
        Assert.Equal("PS256", header.GetProperty("alg").GetString());
        Assert.Equal(Base64Url.EncodeToString(SHA256.HashData(certificate.RawData)), header.GetProperty("x5t#S256").GetString());
        Assert.Equal($"{cloud.AuthorityHost}{TenantId}/oauth2/v2.0/token", payload.GetProperty("aud").GetString());
        Assert.Equal(ClientId, payload.GetProperty("iss").GetString());
        Assert.Equal(ClientId, payload.GetProperty("sub").GetString());
        Assert.Equal(1, cloud.TokenRequestCountFor(ClientId));
    }

    [Fact]
    public async Task ClientCertificateCredentialWithAnUnregisteredCertificateFailsWithAadsts700027()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var registered = LoopbackCertificate.Create("Registered");
        using var other = LoopbackCertificate.Create("Not registered");
        cloud.RegisterAppCertificate(TenantId, ClientId, registered);
        var credential = new ClientCertificateCredential(TenantId, ClientId, other, Configure(cloud, new ClientCertificateCredentialOptions()));

        var failure = await Assert.ThrowsAsync<AuthenticationFailedException>(
            async () => await credential.GetTokenAsync(new TokenRequestContext(GraphScopes), CancellationToken.None));

        var msal = Assert.IsType<MsalServiceException>(failure.InnerException);
        Assert.Equal("invalid_client", msal.ErrorCode);
        Assert.Equal(401, msal.StatusCode);
        Assert.Contains("AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.", msal.Message, StringComparison.Ordinal);
        Assert.Contains(Convert.ToHexString(SHA256.HashData(other.RawData)), msal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAppWithASecretAndACertificateGetsTokensWithEither()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var certificate = LoopbackCertificate.Create("Relay app credential");
        cloud.RegisterApp(TenantId, ClientId, "the-secret");
        cloud.RegisterAppCertificate(TenantId, ClientId, certificate);
        var bySecret = new ClientSecretCredential(TenantId, ClientId, "the-secret", Configure(cloud, new ClientSecretCredentialOptions()));
        var byCertificate = new ClientCertificateCredential(TenantId, ClientId, certificate, Configure(cloud, new ClientCertificateCredentialOptions()));

        var first = await bySecret.GetTokenAsync(new TokenRequestContext(GraphScopes), CancellationToken.None);
        var second = await byCertificate.GetTokenAsync(new TokenRequestContext(GraphScopes), CancellationToken.None);

        Assert.NotEqual(first.Token, second.Token);
        Assert.All(TokenRequests(cloud), request => Assert.Equal(200, request.StatusCode));
        Assert.Equal(2, cloud.TokenRequestCountFor(ClientId));
    }

    [Theory]
    [InlineData("RS256 signature, x5t (SHA-1) thumbprint", 200, null, 0)]
    [InlineData("PS256 signature", 200, null, 0)]
    [InlineData("ES256 signature with an ECDSA certificate", 200, null, 0)]
    [InlineData("audience in other letter case", 200, null, 0)]
    [InlineData("expired 4 minutes ago, within the clock skew", 200, null, 0)]
    [InlineData("payload changed after signing", 401, "invalid_client", 700027)]
    [InlineData("signed by another key", 401, "invalid_client", 700027)]
    [InlineData("unregistered certificate", 401, "invalid_client", 700027)]
    [InlineData("no thumbprint header", 401, "invalid_client", 700027)]
    [InlineData("alg none", 401, "invalid_client", 700027)]
    [InlineData("issuer is another client", 401, "invalid_client", 700021)]
    [InlineData("audience is the v1 token endpoint", 401, "invalid_client", 700023)]
    [InlineData("expired 6 minutes ago", 401, "invalid_client", 700024)]
    [InlineData("valid only from 6 minutes from now", 401, "invalid_client", 700024)]
    [InlineData("not a JWT", 400, "invalid_request", 50027)]
    public async Task HandMadeAssertionsAreCheckedAsEntraChecksThem(string scenario, int status, string? error, int errorCode)
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var rsa = LoopbackCertificate.Create("RSA credential");
        using var ecdsa = CreateEcdsaCertificate();
        using var unregistered = LoopbackCertificate.Create("Unregistered");
        cloud.RegisterAppCertificate(TenantId, ClientId, rsa);
        cloud.RegisterAppCertificate(TenantId, ClientId, ecdsa);
        var audience = $"{cloud.AuthorityHost}{TenantId}/oauth2/v2.0/token";
        var now = DateTimeOffset.UtcNow;
        var assertion = scenario switch
        {
            "RS256 signature, x5t (SHA-1) thumbprint" => Sign(rsa, "RS256", Claims(audience, now), thumbprint: "x5t"),
            "PS256 signature" => Sign(rsa, "PS256", Claims(audience, now)),
            "ES256 signature with an ECDSA certificate" => Sign(ecdsa, "ES256", Claims(audience, now)),
            "audience in other letter case" => Sign(rsa, "RS256", Claims(audience.ToUpperInvariant(), now)),
            "expired 4 minutes ago, within the clock skew" => Sign(rsa, "RS256", Claims(audience, now.AddMinutes(-14), lifetime: TimeSpan.FromMinutes(10))),
            "payload changed after signing" => Tamper(Sign(rsa, "RS256", Claims(audience, now))),
            "signed by another key" => Sign(rsa, "RS256", Claims(audience, now), signer: unregistered),
            "unregistered certificate" => Sign(unregistered, "RS256", Claims(audience, now)),
            "no thumbprint header" => Sign(rsa, "RS256", Claims(audience, now), thumbprint: null),
            "alg none" => Unsigned(rsa, Claims(audience, now)),
            "issuer is another client" => Sign(rsa, "RS256", Claims(audience, now, issuer: "00000000-0000-0000-0000-000000000001")),
            "audience is the v1 token endpoint" => Sign(rsa, "RS256", Claims($"{cloud.AuthorityHost}{TenantId}/oauth2/token", now)),
            "expired 6 minutes ago" => Sign(rsa, "RS256", Claims(audience, now.AddMinutes(-16), lifetime: TimeSpan.FromMinutes(10))),
            "valid only from 6 minutes from now" => Sign(rsa, "RS256", Claims(audience, now.AddMinutes(6))),
            "not a JWT" => "not-a-jwt",
            _ => throw new ArgumentOutOfRangeException(nameof(scenario), scenario, null),
        };
        using var http = new HttpClient(cloud.CreateTrustingHandler()) { BaseAddress = cloud.AuthorityHost };

        using var response = await http.PostAsync($"{TenantId}/oauth2/v2.0/token", AssertionForm(assertion));

        Assert.Equal(status, (int)response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        if (error is null)
        {
            Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("access_token").GetString()));
        }
        else
        {
            Assert.Equal(error, body.RootElement.GetProperty("error").GetString());
            Assert.Equal(errorCode, Assert.Single(body.RootElement.GetProperty("error_codes").EnumerateArray()).GetInt32());
            Assert.StartsWith($"AADSTS{errorCode}: ", body.RootElement.GetProperty("error_description").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AnExpiredRegisteredCertificateIsRefusedAsAnExpiredKey()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var expired = CreateRsaCertificate(notBefore: DateTimeOffset.UtcNow.AddDays(-30), notAfter: DateTimeOffset.UtcNow.AddDays(-1));
        cloud.RegisterAppCertificate(TenantId, ClientId, expired);
        using var http = new HttpClient(cloud.CreateTrustingHandler()) { BaseAddress = cloud.AuthorityHost };
        var assertion = Sign(expired, "RS256", Claims($"{cloud.AuthorityHost}{TenantId}/oauth2/v2.0/token", DateTimeOffset.UtcNow));

        using var response = await http.PostAsync($"{TenantId}/oauth2/v2.0/token", AssertionForm(assertion));

        Assert.Equal(401, (int)response.StatusCode);
        var description = await ErrorDescriptionAsync(response);
        Assert.StartsWith("AADSTS700027: Client assertion contains an invalid signature. [Reason - The key used is expired.", description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASecretAndAnAssertionTogetherAreAnInvalidRequest()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var certificate = LoopbackCertificate.Create("Relay app credential");
        cloud.RegisterApp(TenantId, ClientId, "the-secret");
        cloud.RegisterAppCertificate(TenantId, ClientId, certificate);
        using var http = new HttpClient(cloud.CreateTrustingHandler()) { BaseAddress = cloud.AuthorityHost };
        var assertion = Sign(certificate, "RS256", Claims($"{cloud.AuthorityHost}{TenantId}/oauth2/v2.0/token", DateTimeOffset.UtcNow));

        using var response = await http.PostAsync($"{TenantId}/oauth2/v2.0/token", AssertionForm(assertion, ("client_secret", "the-secret")));

        Assert.Equal(400, (int)response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_request", body.RootElement.GetProperty("error").GetString());
        Assert.Equal(90023, Assert.Single(body.RootElement.GetProperty("error_codes").EnumerateArray()).GetInt32());
    }

    [Fact]
    public async Task APublicClientPresentingAnAssertionIsRefusedWithAadsts700025()
    {
        await using var cloud = await FakeMicrosoftCloud.StartAsync();
        using var certificate = LoopbackCertificate.Create("Relay app credential");
        cloud.RegisterAppCertificate(TenantId, ClientId, certificate);
        cloud.RegisterPublicClient(TenantId, ClientId);
        using var http = new HttpClient(cloud.CreateTrustingHandler()) { BaseAddress = cloud.AuthorityHost };
        var assertion = Sign(certificate, "RS256", Claims($"{cloud.AuthorityHost}{TenantId}/oauth2/v2.0/token", DateTimeOffset.UtcNow));

        using var response = await http.PostAsync($"{TenantId}/oauth2/v2.0/token", AssertionForm(assertion));

        Assert.Equal(401, (int)response.StatusCode);
        Assert.StartsWith("AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented.", await ErrorDescriptionAsync(response), StringComparison.Ordinal);
    }

    private static FormUrlEncodedContent AssertionForm(string assertion, params (string Name, string Value)[] extra) =>
        new(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = ClientId,
            ["scope"] = GraphScopes[0],
            ["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ["client_assertion"] = assertion,
        }.Concat(extra.Select(field => KeyValuePair.Create(field.Name, field.Value))));

    private static async Task<string> ErrorDescriptionAsync(HttpResponseMessage response)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("error_description").GetString()!;
    }

    private static Dictionary<string, object> Claims(string audience, DateTimeOffset notBefore, string issuer = ClientId, TimeSpan? lifetime = null) => new()
    {
        ["aud"] = audience,
        ["iss"] = issuer,
        ["sub"] = issuer,
        ["jti"] = Guid.NewGuid().ToString(),
        ["nbf"] = notBefore.ToUnixTimeSeconds(),
        ["exp"] = (notBefore + (lifetime ?? TimeSpan.FromMinutes(10))).ToUnixTimeSeconds(),
    };

    /// <summary>A compact JWS whose header names <paramref name="certificate"/> and whose signature is by <paramref name="signer"/>'s key (the same by default).</summary>
    private static string Sign(X509Certificate2 certificate, string algorithm, Dictionary<string, object> claims, string? thumbprint = "x5t#S256", X509Certificate2? signer = null)
    {
        var header = new Dictionary<string, object> { ["alg"] = algorithm, ["typ"] = "JWT" };
        if (thumbprint is not null)
        {
            header[thumbprint] = Base64Url.EncodeToString(thumbprint == "x5t" ? certificate.GetCertHash() : SHA256.HashData(certificate.RawData));
        }
        var signedPart = $"{Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(header))}.{Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims))}";
        var data = Encoding.ASCII.GetBytes(signedPart);
        signer ??= certificate;
        byte[] signature;
        if (algorithm.StartsWith("ES", StringComparison.Ordinal))
        {
            using var key = signer.GetECDsaPrivateKey()!;
            signature = key.SignData(data, HashAlgorithmName.SHA256);
        }
        else
        {
            using var key = signer.GetRSAPrivateKey()!;
            signature = key.SignData(data, HashAlgorithmName.SHA256, algorithm.StartsWith("PS", StringComparison.Ordinal) ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1);
        }
        return $"{signedPart}.{Base64Url.EncodeToString(signature)}";
    }

    private static string Unsigned(X509Certificate2 certificate, Dictionary<string, object> claims)
    {
        var header = new Dictionary<string, object> { ["alg"] = "none", ["typ"] = "JWT", ["x5t#S256"] = Base64Url.EncodeToString(SHA256.HashData(certificate.RawData)) };
        return $"{Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(header))}.{Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims))}.";
    }

    /// <summary>The same JWS with one more claim in the payload, so its signature no longer matches.</summary>
    private static string Tamper(string jws)
    {
        var parts = jws.Split('.');
        var claims = JsonSerializer.Deserialize<Dictionary<string, object>>(Base64Url.DecodeFromChars(parts[1]))!;
        claims["extra"] = "added";
        return $"{parts[0]}.{Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims))}.{parts[2]}";
    }

    private static (JsonElement Header, JsonElement Payload) Decode(string jwt)
    {
        var parts = jwt.Split('.');
        using var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0]));
        using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
        return (header.RootElement.Clone(), payload.RootElement.Clone());
    }

    private static X509Certificate2 CreateEcdsaCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=ECDSA credential", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), password: null);
    }

    private static X509Certificate2 CreateRsaCertificate(DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=Expired credential", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(notBefore, notAfter);
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), password: null);
    }
}
