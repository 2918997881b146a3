namespace Relay.Sender.Delivery;

/// <summary>
/// One edit to a message's bytes: <see cref="Length"/> bytes at <see cref="Offset"/> are replaced by
/// <see cref="Replacement"/> (empty to delete them). Everything no splice covers is copied as it is.
/// </summary>
public readonly record struct ByteSplice(int Offset, int Length, ReadOnlyMemory<byte> Replacement)
{
    /// <summary>
    /// <paramref name="prefix"/>, then <paramref name="original"/> with the splices applied, in one array of the exact
    /// size: the original is copied once.
    /// </summary>
    /// <exception cref="ArgumentException">Two splices overlap, or one reaches outside the original.</exception>
    public static byte[] Apply(ReadOnlySpan<byte> prefix, byte[] original, IEnumerable<ByteSplice> splices)
    {
        var ordered = splices.OrderBy(s => s.Offset).ToArray();
        var length = (long)prefix.Length + original.Length;
        var position = 0;
        foreach (var splice in ordered)
        {
            if (splice.Offset < position || splice.Length < 0 || splice.Offset + splice.Length > original.Length)
            {
                throw new ArgumentException($"Splice at {splice.Offset} (+{splice.Length}) overlaps another or leaves the message.", nameof(splices));
            }
            length += splice.Replacement.Length - splice.Length;
            position = splice.Offset + splice.Length;
        }

        var result = new byte[length];
        prefix.CopyTo(result);
        var written = prefix.Length;
        position = 0;
        foreach (var splice in ordered)
        {
            original.AsSpan(position, splice.Offset - position).CopyTo(result.AsSpan(written));
            written += splice.Offset - position;
            splice.Replacement.Span.CopyTo(result.AsSpan(written));
            written += splice.Replacement.Length;
            position = splice.Offset + splice.Length;
        }
        original.AsSpan(position).CopyTo(result.AsSpan(written));
        return result;
    }
}
