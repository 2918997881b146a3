namespace Relay.EndToEnd.Tests;

/// <summary>The repository the tests run from: its files are what the tests check against.</summary>
internal static class Repository
{
    /// <summary>The directory that holds Relay.slnx, found upwards from the test output.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "Relay.slnx")))
        {
            root = root.Parent ?? throw new InvalidOperationException("Relay.slnx not found above the test output.");
        }
        return root.FullName;
    }
}
