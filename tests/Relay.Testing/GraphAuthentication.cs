using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;

namespace Relay.Testing;

/// <summary>Checks the bearer tokens Graph requests carry against the tokens the fake Entra issued.</summary>
internal sealed class GraphAuthentication(EntraDirectory directory)
{
    /// <summary>The bearer token when it is one this fake issued and it has not expired.</summary>
    public IssuedToken? Authenticate(HttpRequest request) =>
        BearerToken(request) is { } value && directory.Find(value) is { } token && token.ExpiresOn > DateTimeOffset.UtcNow
            ? token
            : null;

    /// <summary>The 401 <c>InvalidAuthenticationToken</c> Graph answers when <see cref="Authenticate"/> finds no valid token.</summary>
    public GraphFault Unauthenticated(HttpRequest request)
    {
        var message = BearerToken(request) switch
        {
            null => "Access token is empty.",
            var value when directory.Find(value) is null => "IDX14100: JWT is not well formed, there are no dots (.).",
            _ => "Lifetime validation failed, the token is expired.",
        };
        return new GraphFault(StatusCodes.Status401Unauthorized, "InvalidAuthenticationToken", message);
    }

    public static string? BearerToken(HttpRequest request) =>
        AuthenticationHeaderValue.TryParse(request.Headers.Authorization, out var authorization)
        && authorization.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase)
        && !string.IsNullOrEmpty(authorization.Parameter)
            ? authorization.Parameter
            : null;
}
