namespace Relay.Bench.Measure;

internal static class Percentiles
{
    /// <summary>The nearest-rank percentile (0–100) of the values, or null when there are none.</summary>
    public static double? Of(IReadOnlyCollection<double> values, double percentile)
    {
        if (values.Count == 0)
        {
            return null;
        }
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
