using System.Buffers.Text;
using System.Net;
using System.Text.Json;
using Azure.Core;
using Azure.Identity;
using Microsoft.Identity.Client;
using Relay.Testing;
using static Relay.Sender.Tests.FakeCloud.FakeCloudClients;

namespace Relay.Sender.Tests.FakeCloud;

// UsernamePasswordCredential is [Obsolete] because ROPC cannot do MFA; it is still how a relay turns an SMTP login into
// a delegated token, so these tests drive it on purpose.
#pragma warning disable CS0618

/// <summary>The password grant (ROPC) and refresh-token grant against <see cref="FakeMicrosoftCloud"/>, driven by the real UsernamePasswordCredential.</summary>
public sealed class FakeMicrosoftCloudPasswordGrantTests
{
    private const string TenantId = "4f8e2a6c-1d3b-4a59-8c7e-0b2d4f6a8c1e";
    private const string PublicClientId = "9a3c5e7f-0b2d-4f61-8a3c-5e7f9b1d3f50";
    private const string ConfidentialClientId = "2c4e6a8b-3d5f-4b71-9c2e-4a6b8d0f2a61";
    private const string ConfidentialSecret = "confidential~Secret_value";
    private const string User = "printer@contoso.com";
    private const string Password = "correct horse battery staple";

    [Fact]
    public async Task UsernamePasswordCredentialGetsADelegatedTokenThatSendsAsItsUser()
    {
        await using var cloud = await StartCloudAsync();
        using var graph = Graph(cloud, Credential(cloud));

        await SendMimeAsync(graph, User);

        var mail = Assert.Single(cloud.SentMail);
        Assert.Equal(User, mail.Principal);
        Assert.True(mail.IsDelegated);
        // MSAL asks for the user's realm first, under /common whatever the tenant, then posts the password grant.
        Assert.Equal(
            [$"GET /common/userrealm/{User} ?api-version=1.0 200", $"POST /{TenantId}/oauth2/v2.0/token  200", $"POST /v1.0/users/{User}/sendMail  202"],
            cloud.Requests.Select(request => $"{request.Method} {request.Path} {request.Query} {request.StatusCode}"));
        var form = Form(Assert.Single(TokenRequests(cloud)));
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["client_id"] = PublicClientId,
                ["scope"] = "openid offline_access profile https://graph.microsoft.com/.default",
                ["grant_type"] = "password",
                ["username"] = User,
                ["password"] = Password,
                ["client_info"] = "1",
            },
            form.Where(field => field.Key != "claims").ToDictionary());
        Assert.Equal(1, cloud.TokenRequestCount);
        Assert.Equal(1, cloud.TokenRequestCountFor(User));
        Assert.Equal(0, cloud.TokenRequestCountFor(PublicClientId));
    }

    [Fact]
    public async Task TheTokenResponseCarriesWhatMsalNeedsForAnAccount()
    {
        await using var cloud = await StartCloudAsync();
        var objectId = cloud.RegisterUser(TenantId, "second@contoso.com", Password);
        using var http = new HttpClient(cloud.CreateTrustingHandler()) { BaseAddress = cloud.AuthorityHost };

        using var response = await http.PostAsync($"{TenantId}/oauth2/v2.0/token", PasswordForm("second@contoso.com", Password));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        Assert.Equal("Bearer", root.GetProperty("token_type").GetString());
        Assert.Equal("https://graph.microsoft.com/.default", root.GetProperty("scope").GetString());
        Assert.Equal(3600, root.GetProperty("expires_in").GetInt32());
        Assert.Equal(3600, root.GetProperty("ext_expires_in").GetInt32());
        Assert.All(["access_token", "refresh_token"], name => Assert.False(string.IsNullOrEmpty(root.GetProperty(name).GetString())));
        using var clientInfo = JsonDocument.Parse(Base64Url.DecodeFromChars(root.GetProperty("client_info").GetString()));
        Assert.Equal(objectId, clientInfo.RootElement.GetProperty("uid").GetString());
        Assert.Equal(TenantId, clientInfo.RootElement.GetProperty("utid").GetString());
        var idToken = root.GetProperty("id_token").GetString()!.Split('.');
        using var claims = JsonDocument.Parse(Base64Url.DecodeFromChars(idToken[1]));
        Assert.Equal(PublicClientId, claims.RootElement.GetProperty("aud").GetString());
        Assert.Equal($"{cloud.AuthorityHost}{TenantId}/v2.0", claims.RootElement.GetProperty("iss").GetString());
        Assert.Equal(TenantId, claims.RootElement.GetProperty("tid").GetString());
        Assert.Equal(objectId, claims.RootElement.GetProperty("oid").GetString());
        Assert.Equal("second@contoso.com", claims.RootElement.GetProperty("preferred_username").GetString());
        Assert.Equal("second", claims.RootElement.GetProperty("name").GetString());
    }

    [Fact]
    public async Task AWrongPasswordFailsWithAadsts50126()
    {
        await using var cloud = await StartCloudAsync();

        var failure = await Assert.ThrowsAsync<AuthenticationFailedException>(() => GetTokenAsync(Credential(cloud, password: "wrong password")));

        var msal = Assert.IsType<MsalUiRequiredException>(failure.InnerException);
        Assert.Equal("invalid_grant", msal.ErrorCode);
        Assert.Equal(400, msal.StatusCode);
        Assert.Contains("AADSTS50126: Error validating credentials due to invalid username or password.", failure.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, cloud.TokenRequestCountFor(User));
        Assert.Empty(cloud.SentMail);
    }

    [Fact]
    public async Task AUserWhoMustUseMfaFailsWithAadsts50076()
    {
        await using var cloud = await StartCloudAsync();
        cloud.RegisterUser(TenantId, User, Password, UserSignInBlock.MfaRequired);

        var failure = await Assert.ThrowsAsync<AuthenticationFailedException>(() => GetTokenAsync(Credential(cloud)));

        var msal = Assert.IsType<MsalUiRequiredException>(failure.InnerException);
        Assert.Equal("invalid_grant", msal.ErrorCode);
        Assert.Equal(UiRequiredExceptionClassification.BasicAction, msal.Classification);
        Assert.Contains("AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '00000003-0000-0000-c000-000000000000'.", msal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AUserBlockedByConditionalAccessFailsWithAadsts53003()
    {
        await using var cloud = await StartCloudAsync();
        cloud.RegisterUser(TenantId, User, Password, UserSignInBlock.ConditionalAccessBlocked);

        var failure = await Assert.ThrowsAsync<AuthenticationFailedException>(() => GetTokenAsync(Credential(cloud)));

        // The response carries a claims challenge naming the policy, which MSAL surfaces as its own exception type.
        var msal = Assert.IsType<MsalClaimsChallengeException>(failure.InnerException);
        Assert.Equal("invalid_grant", msal.ErrorCode);
        Assert.Equal(UiRequiredExceptionClassification.MessageOnly, msal.Classification);
        Assert.Contains("AADSTS53003: Access has been blocked by Conditional Access policies.", msal.Message, StringComparison.Ordinal);
        Assert.Contains("capolids", msal.Claims, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(UserSignInBlock.None, "wrong", "invalid_grant", 50126, null)]
    [InlineData(UserSignInBlock.PasswordExpired, Password, "user_password_expired", 50055, "user_password_expired")]
    [InlineData(UserSignInBlock.PasswordExpired, "wrong", "invalid_grant", 50126, null)]
    [InlineData(UserSignInBlock.MfaRequired, "wrong", "invalid_grant", 50126, null)]
    [InlineData(UserSignInBlock.Disabled, Password, "invalid_grant", 50057, null)]
    [InlineData(UserSignInBlock.Disabled, "wrong", "invalid_grant", 50057, null)]
    [InlineData(UserSignInBlock.Locked, "wrong", "invalid_grant", 50053, null)]
    public async Task PasswordGrantRefusalsHaveEntrasCodes(UserSignInBlock block, string password, string error, int errorCode, string? subError)
    {
        await using var cloud = await StartCloudAsync();
        cloud.RegisterUser(TenantId, User, Password, block);
        using var http = new HttpClient(cloud.CreateTrustingHandler()) { BaseAddress = cloud.AuthorityHost };

        using var response = await http.PostAsync($"{TenantId}/oauth2/v2.0/token", PasswordForm(User, password));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(error, body.RootElement.GetProperty("error").GetString());
        Assert.Equal(errorCode, Assert.Single(body.RootElement.GetProperty("error_codes").EnumerateArray()).GetInt32());
        Assert.Equal(subError, body.RootElement.TryGetProperty("suberror", out var value) ? value.GetString() : null);
    }

    [Fact]
    public async Task AnUnknownUserInAKnownDomainFailsWithAadsts50034()
    {
        await using var cloud = await StartCloudAsync();

        var failure = await Assert.ThrowsAsync<AuthenticationFailedException>(() => GetTokenAsync(Credential(cloud, user: "nobody@contoso.com")));

        var msal = Assert.IsType<MsalUiRequiredException>(failure.InnerException);
        Assert.Contains($"AADSTS50034: The user account {{EmailHidden}} does not exist in the '{TenantId}' directory.", msal.Message, StringComparison.Ordinal);
        Assert.Equal(1, cloud.TokenRequestCountFor("nobody@contoso.com"));
    }

    [Fact]
    public async Task AUserInADomainWithNoUsersIsRefusedByMsalBeforeAnyTokenRequest()
    {
        await using var cloud = await StartCloudAsync();

        var failure = await Assert.ThrowsAsync<AuthenticationFailedException>(() => GetTokenAsync(Credential(cloud, user: "someone@fabrikam.example")));

        var msal = Assert.IsType<MsalClientException>(failure.InnerException);
        Assert.Equal("unknown_user_type", msal.ErrorCode);
        Assert.Equal(0, cloud.TokenRequestCount);
        var realm = Assert.Single(cloud.Requests);
        Assert.Equal("/common/userrealm/someone@fabrikam.example", realm.Path);
    }

    [Theory]
    [InlineData("printer@contoso.com", "{\"ver\":\"1.0\",\"account_type\":\"Managed\",\"domain_name\":\"contoso.com\",\"cloud_instance_name\":\"microsoftonline.com\",\"cloud_audience_urn\":\"urn:federation:MicrosoftOnline\"}")]
    [InlineData("SOMEONE.ELSE@CONTOSO.COM", "{\"ver\":\"1.0\",\"account_type\":\"Managed\",\"domain_name\":\"contoso.com\",\"cloud_instance_name\":\"microsoftonline.com\",\"cloud_audience_urn\":\"urn:federation:MicrosoftOnline\"}")]
    [InlineData("someone@fabrikam.example", "{\"ver\":\"1.0\",\"account_type\":\"Unknown\",\"cloud_instance_name\":\"microsoftonline.com\"}")]
    public async Task UserRealmIsManagedForDomainsWithRegisteredUsersAndUnknownOtherwise(string upn, string expected)
    {
        await using var cloud = await StartCloudAsync();
        using var http = new HttpClient(cloud.CreateTrustingHandler()) { BaseAddress = cloud.AuthorityHost };

        var body = await http.GetStringAsync($"common/userrealm/{upn}?api-version=1.0");

        Assert.Equal(expected, body);
    }

    [Fact]
    public async Task ASecretlessPasswordGrantForAConfidentialAppFailsWithAadsts7000218()
    {
        await using var cloud = await StartCloudAsync();

        var failure = await Assert.ThrowsAsync<AuthenticationFailedException>(() => GetTokenAsync(Credential(cloud, clientId: ConfidentialClientId)));

        var msal = Assert.IsType<MsalServiceException>(failure.InnerException);
        Assert.Equal("invalid_client", msal.ErrorCode);
        Assert.Equal(401, msal.StatusCode);
        Assert.Contains("AADSTS7000218", msal.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ConfidentialClientId, ConfidentialSecret, 200, null)]
    [InlineData(ConfidentialClientId, "wrong-secret", 401, 7000215)]
    [InlineData(PublicClientId, ConfidentialSecret, 401, 700025)]
    public async Task AConfidentialClientMaySendItsSecretWithThePasswordGrant(string clientId, string secret, int status, int? errorCode)
    {
        await using var cloud = await StartCloudAsync();
        using var http = new HttpClient(cloud.CreateTrustingHandler()) { BaseAddress = cloud.AuthorityHost };

        using var response = await http.PostAsync($"{TenantId}/oauth2/v2.0/token", PasswordForm(User, Password, clientId, secret));

        Assert.Equal(status, (int)response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(errorCode, body.RootElement.TryGetProperty("error_codes", out var codes) ? Assert.Single(codes.EnumerateArray()).GetInt32() : null);
    }

    [Fact]
    public async Task MsalRenewsAnExpiringTokenWithTheRefreshToken()
    {
        await using var cloud = await StartCloudAsync();
        // MSAL renews a token that expires within five minutes, so every silent request refreshes.
        cloud.TokenLifetime = TimeSpan.FromMinutes(2);
        var credential = Credential(cloud);

        var first = await GetTokenAsync(credential);
        var second = await GetTokenAsync(credential);

        Assert.NotEqual(first.Token, second.Token);
        var forms = TokenRequests(cloud).Select(Form).ToList();
        Assert.Equal(["password", "refresh_token"], forms.Select(form => form["grant_type"]));
        Assert.Equal(PublicClientId, forms[1]["client_id"]);
        Assert.False(forms[1].ContainsKey("password"));
        Assert.Equal(2, cloud.TokenRequestCountFor(User));
        using var graph = Graph(cloud, credential);
        await SendMimeAsync(graph, User);
        Assert.Equal(User, Assert.Single(cloud.SentMail).Principal);
    }

    [Fact]
    public async Task APasswordChangeRevokesTheRefreshTokenAndTheOldPasswordNoLongerWorks()
    {
        await using var cloud = await StartCloudAsync();
        cloud.TokenLifetime = TimeSpan.FromMinutes(2);
        var credential = Credential(cloud);
        await GetTokenAsync(credential);

        cloud.RegisterUser(TenantId, User, "a new password");
        var failure = await Assert.ThrowsAsync<AuthenticationFailedException>(() => GetTokenAsync(credential));

        // The credential tries its refresh token (revoked: AADSTS50173), then its password again (wrong now: AADSTS50126).
        Assert.Contains("AADSTS50126", failure.ToString(), StringComparison.Ordinal);
        Assert.Equal(
            ["password 200", "refresh_token 400", "password 400"],
            TokenRequests(cloud).Select(request => $"{Form(request)["grant_type"]} {request.StatusCode}"));
    }

    [Fact]
    public async Task ARefreshTokenIssuedBeforeAPasswordChangeIsRevokedWithAadsts50173()
    {
        await using var cloud = await StartCloudAsync();
        using var http = new HttpClient(cloud.CreateTrustingHandler()) { BaseAddress = cloud.AuthorityHost };
        var refreshToken = await RefreshTokenAsync(http);

        cloud.RegisterUser(TenantId, User, "a new password");
        using var response = await http.PostAsync($"{TenantId}/oauth2/v2.0/token", RefreshForm(PublicClientId, refreshToken));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("invalid_grant", error.RootElement.GetProperty("error").GetString());
        Assert.Equal(50173, Assert.Single(error.RootElement.GetProperty("error_codes").EnumerateArray()).GetInt32());
    }

    [Fact]
    public async Task ARefreshIsRefusedOnceTheUserIsBlocked()
    {
        await using var cloud = await StartCloudAsync();
        using var http = new HttpClient(cloud.CreateTrustingHandler()) { BaseAddress = cloud.AuthorityHost };
        var refreshToken = await RefreshTokenAsync(http);

        cloud.RegisterUser(TenantId, User, Password, UserSignInBlock.Disabled);
        using var response = await http.PostAsync($"{TenantId}/oauth2/v2.0/token", RefreshForm(PublicClientId, refreshToken));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(50057, Assert.Single(error.RootElement.GetProperty("error_codes").EnumerateArray()).GetInt32());
    }

    [Fact]
    public async Task ARefreshTokenIsOnlyGoodForTheClientItWasIssuedTo()
    {
        await using var cloud = await StartCloudAsync();
        using var http = new HttpClient(cloud.CreateTrustingHandler()) { BaseAddress = cloud.AuthorityHost };
        var refreshToken = await RefreshTokenAsync(http);

        using var ownClient = await http.PostAsync($"{TenantId}/oauth2/v2.0/token", RefreshForm(PublicClientId, refreshToken));
        using var otherClient = await http.PostAsync($"{TenantId}/oauth2/v2.0/token", RefreshForm(ConfidentialClientId, refreshToken, ConfidentialSecret));

        Assert.Equal(HttpStatusCode.OK, ownClient.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, otherClient.StatusCode);
        using var error = JsonDocument.Parse(await otherClient.Content.ReadAsStringAsync());
        Assert.Equal("invalid_grant", error.RootElement.GetProperty("error").GetString());
        Assert.Equal(3, cloud.TokenRequestCountFor(User));
    }

    private static async Task<FakeMicrosoftCloud> StartCloudAsync()
    {
        var cloud = await FakeMicrosoftCloud.StartAsync();
        cloud.RegisterPublicClient(TenantId, PublicClientId);
        cloud.RegisterApp(TenantId, ConfidentialClientId, ConfidentialSecret);
        cloud.RegisterUser(TenantId, User, Password);
        return cloud;
    }

    private static UsernamePasswordCredential Credential(FakeMicrosoftCloud cloud, string user = User, string password = Password, string clientId = PublicClientId) =>
        new(user, password, TenantId, clientId, Configure(cloud, new UsernamePasswordCredentialOptions()));

    private static async Task<AccessToken> GetTokenAsync(TokenCredential credential) =>
        await credential.GetTokenAsync(new TokenRequestContext(GraphScopes), CancellationToken.None);

    /// <summary>Signs <see cref="User"/> in with the password grant and returns the refresh token.</summary>
    private static async Task<string> RefreshTokenAsync(HttpClient http)
    {
        using var response = await http.PostAsync($"{TenantId}/oauth2/v2.0/token", PasswordForm(User, Password));
        response.EnsureSuccessStatusCode();
        using var tokens = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return tokens.RootElement.GetProperty("refresh_token").GetString()!;
    }

    private static FormUrlEncodedContent PasswordForm(string user, string password, string clientId = PublicClientId, string? secret = null)
    {
        var fields = new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["client_id"] = clientId,
            ["scope"] = "openid offline_access profile https://graph.microsoft.com/.default",
            ["username"] = user,
            ["password"] = password,
            ["client_info"] = "1",
        };
        if (secret is not null)
        {
            fields["client_secret"] = secret;
        }
        return new FormUrlEncodedContent(fields);
    }

    private static FormUrlEncodedContent RefreshForm(string clientId, string refreshToken, string? secret = null)
    {
        var fields = new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["client_id"] = clientId,
            ["scope"] = "https://graph.microsoft.com/.default offline_access openid profile",
            ["refresh_token"] = refreshToken,
            ["client_info"] = "1",
        };
        if (secret is not null)
        {
            fields["client_secret"] = secret;
        }
        return new FormUrlEncodedContent(fields);
    }
}
