using System.Globalization;
using System.Text.RegularExpressions;
using Azure.Identity;
using Microsoft.Identity.Client;
using Relay.Contracts;
using Relay.Sender.Delivery;

namespace Relay.Sender.Identity;

/// <summary>Why Entra ID refused a login, as the SMTP client hears it and as the log records it.</summary>
/// <param name="Reply">What the client is told: never a secret, never whether a user exists.</param>
/// <param name="Reason">A short label for logs and metrics: credentials, mfa, conditional-access, consent, transient…</param>
/// <param name="AadstsCode">Entra's AADSTS code, when it gave one.</param>
public sealed record LoginFailure(SmtpReply Reply, string Reason, int? AadstsCode)
{
    public bool IsTransient => Reply.Code < 500;
}

/// <summary>
/// Entra ID errors for SMTP logins, classified by AADSTS code (graph-facts §5, Entra's error-code reference):
/// credential or configuration problems are <c>535 5.7.8</c>; MFA and Conditional Access are <c>534 5.7.9</c>
/// (RFC 4954: the mechanism is too weak for this account, so a password alone will never do); Entra being unavailable
/// is <c>454 4.7.0</c> so the client tries again.
/// </summary>
public static partial class EntraLoginErrors
{
    /// <summary>The app-login lookup table could not be asked.</summary>
    public static LoginFailure LookupUnavailable { get; } =
        Failure(454, "4.7.0", "transient", null, "the login lookup is temporarily unavailable; try again later");

    public static LoginFailure Classify(Exception error)
    {
        var service = Find<MsalServiceException>(error);
        var code = AadstsCode(service, error);
        return code switch
        {
            7000215 => Credentials(code, "the client secret is wrong (use the secret's value, not its ID)"),
            7000222 => Credentials(code, "the client secret has expired; make a new one in Entra ID"),
            700027 or 700024 or 700021 => Credentials(code, "the app's certificate was not accepted"),
            7000218 => Credentials(code, "the app needs a client secret or certificate, or 'Allow public client flows' for mailbox logins"),
            700016 => Credentials(code, "the app is not registered in that tenant"),
            90002 or 900023 => Credentials(code, "the tenant does not exist"),
            50126 or 50034 => Credentials(code, "user name or password is wrong"),
            50055 => Credentials(code, "the password has expired; change it in Microsoft 365"),
            50057 => Credentials(code, "the account is disabled"),
            50053 => Credentials(code, "the account is locked; try again later or ask an administrator"),
            65001 or 90094 or 65004 => Failure(535, "5.7.8", "consent", code, "an administrator has not granted the app its permissions"),
            50076 or 50079 or 50074 or 50158 =>
                Failure(534, "5.7.9", "mfa", code, "Microsoft 365 requires multi-factor authentication for this account, which a password login cannot do; use a Relay account or an app login"),
            53003 or 53000 or 53001 or 530035 or 530034 =>
                Failure(534, "5.7.9", "conditional-access", code, "blocked by the tenant's Conditional Access or security defaults; use a Relay account or an app login"),
            50033 or 90006 or 90024 or 90033 or 90090 or 50196 => Transient(code),
            _ when service?.ErrorCode is "temporarily_unavailable" or "service_not_available" or MsalError.RequestTimeout
                   || service?.StatusCode >= 500 || IsTransport(error) => Transient(code),
            // MSAL refuses before asking for a token when the user's domain is unknown to Entra (userrealm "Unknown").
            _ when Find<MsalClientException>(error)?.ErrorCode == "unknown_user_type" => Credentials(code, "user name or password is wrong"),
            // Neither Entra nor MSAL said no: something between Relay and Entra failed.
            _ when Find<MsalException>(error) is null && Find<AuthenticationFailedException>(error) is null => Transient(code),
            null => Credentials(null, "Microsoft 365 refused the login"),
            _ => Credentials(code, "Microsoft 365 refused the login"),
        };
    }

    private static LoginFailure Credentials(int? code, string why) => Failure(535, "5.7.8", "credentials", code, why);

    private static LoginFailure Transient(int? code) =>
        Failure(454, "4.7.0", "transient", code, "Microsoft 365 sign-in is temporarily unavailable; try again later");

    private static LoginFailure Failure(int smtpCode, string enhanced, string reason, int? code, string why)
    {
        var suffix = code is null ? string.Empty : string.Create(CultureInfo.InvariantCulture, $" (AADSTS{code})");
        var text = smtpCode < 500 ? why + suffix : $"Authentication failed: {why}{suffix}";
        return new LoginFailure(Replies.Create(smtpCode, enhanced, text), reason, code);
    }

    /// <summary>The AADSTS code Entra put in its <c>error_description</c>, which MSAL carries in its messages.</summary>
    private static int? AadstsCode(MsalServiceException? service, Exception error)
    {
        var texts = new List<string?> { service?.ResponseBody };
        for (var e = error; e is not null; e = e.InnerException)
        {
            texts.Add(e.Message);
        }
        foreach (var text in texts)
        {
            if (text is not null && AadstsPattern().Match(text) is { Success: true } match)
            {
                return int.Parse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture);
            }
        }
        return null;
    }

    /// <summary>Entra was never heard from: no connection, a timeout, a 5xx from a proxy.</summary>
    private static bool IsTransport(Exception error) =>
        Find<HttpRequestException>(error) is not null
        || Find<TimeoutException>(error) is not null
        || Find<OperationCanceledException>(error) is not null
        || Find<Azure.RequestFailedException>(error) is { } failed && (failed.Status == 0 || failed.Status >= 500);

    private static T? Find<T>(Exception error) where T : Exception
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is T match)
            {
                return match;
            }
        }
        return null;
    }

    [GeneratedRegex(@"AADSTS(\d{5,7})\b", RegexOptions.CultureInvariant)]
    private static partial Regex AadstsPattern();
}
