namespace Relay.EndToEnd.Tests;

/// <summary>
/// A fact that needs root on Linux (mounts, namespaces, cgroups). On a developer's machine, as another user, it is
/// reported skipped with the reason; as root (CI) it runs, and a machine that still cannot do what it needs fails it.
/// </summary>
internal sealed class RootOnlyFactAttribute : FactAttribute
{
    public RootOnlyFactAttribute(string why)
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = $"needs Linux: {why}";
        }
        else if (Environment.UserName != "root")
        {
            Skip = $"needs root (running as {Environment.UserName}): {why}";
        }
    }
}
