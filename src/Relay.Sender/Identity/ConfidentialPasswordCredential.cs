using Azure.Core;
using Microsoft.Identity.Client;

namespace Relay.Sender.Identity;

/// <summary>
/// The resource-owner password grant made by Relay's app as a confidential client (with its client secret), as
/// azureSMTPwithOAuth does it: the app registration needs no "Allow public client flows", with which Entra can treat
/// the app as a public client and refuse its own secret (AADSTS700025). A new MSAL application per sign-in, so no
/// user's tokens outlive the <see cref="Tokens.LoginTokenCache"/> entry that holds them.
/// </summary>
public sealed class ConfidentialPasswordCredential(Func<IConfidentialClientApplication> application, string userPrincipalName, string password)
    : TokenCredential
{
    public override async ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
#pragma warning disable CS0618 // ROPC is deprecated because it cannot do MFA; mailbox logins exist for devices that can only send a password.
        var result = await ((IByUsernameAndPassword)application())
            .AcquireTokenByUsernamePassword(requestContext.Scopes, userPrincipalName, password)
            .ExecuteAsync(cancellationToken);
#pragma warning restore CS0618
        return new AccessToken(result.AccessToken, result.ExpiresOn);
    }

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        GetTokenAsync(requestContext, cancellationToken).AsTask().GetAwaiter().GetResult();
}
