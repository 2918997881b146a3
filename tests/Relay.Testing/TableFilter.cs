namespace Relay.Testing;

/// <summary>
/// The part of OData's <c>$filter</c> the fake understands, and no more: <c>Name eq 'literal'</c> comparisons joined
/// by <c>and</c>, single quotes in a literal doubled (<c>'O''Brien'</c>). Keywords are lower case and separated by
/// single spaces, as <c>TableClient.CreateQueryFilter</c> writes them. Everything else is refused, so a client that sends
/// anything else finds out here rather than against the real service.
/// </summary>
internal sealed class TableFilter
{
    private TableFilter(IReadOnlyList<(string Property, string Value)> conditions) => Conditions = conditions;

    /// <summary>The comparisons, in order; an entity matches when every one holds.</summary>
    public IReadOnlyList<(string Property, string Value)> Conditions { get; }

    /// <summary>Whether every comparison holds for <paramref name="row"/> (string equality is ordinal, as in the service).</summary>
    public bool Matches(TableRow row) =>
        Conditions.All(condition => string.Equals(row.Get(condition.Property), condition.Value, StringComparison.Ordinal));

    /// <summary>An OData identifier: a letter or underscore, then letters, digits and underscores (at most 255 characters).</summary>
    public static bool IsPropertyName(string name) =>
        name.Length is > 0 and <= 255 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    /// <summary>Parses <paramref name="text"/>, or says what is wrong with it.</summary>
    public static bool TryParse(string text, out TableFilter filter, out string error)
    {
        filter = new TableFilter([]);
        var conditions = new List<(string, string)>();
        var position = 0;
        while (true)
        {
            var start = position;
            while (position < text.Length && text[position] != ' ')
            {
                position++;
            }
            var property = text[start..position];
            if (!IsPropertyName(property))
            {
                error = $"'{property}' at position {start} is not a property name.";
                return false;
            }
            if (!Expect(text, ref position, " eq '"))
            {
                error = $"Expected \" eq '\" after {property} at position {position}; the fake supports only eq comparisons with string literals.";
                return false;
            }
            if (!TryReadLiteral(text, ref position, out var value))
            {
                error = $"The string literal compared with {property} is not closed.";
                return false;
            }
            conditions.Add((property, value));
            if (position == text.Length)
            {
                filter = new TableFilter(conditions);
                error = string.Empty;
                return true;
            }
            if (!Expect(text, ref position, " and "))
            {
                error = $"Expected \" and \" or the end of the filter at position {position}; the fake supports only conjunctions.";
                return false;
            }
        }
    }

    private static bool Expect(string text, ref int position, string expected)
    {
        if (position + expected.Length > text.Length || !text.AsSpan(position, expected.Length).SequenceEqual(expected))
        {
            return false;
        }
        position += expected.Length;
        return true;
    }

    /// <summary>Reads a literal whose opening quote has been consumed, up to and including its closing quote.</summary>
    private static bool TryReadLiteral(string text, ref int position, out string value)
    {
        var builder = new System.Text.StringBuilder();
        while (position < text.Length)
        {
            var c = text[position++];
            if (c != '\'')
            {
                builder.Append(c);
            }
            else if (position < text.Length && text[position] == '\'')
            {
                builder.Append('\'');
                position++;
            }
            else
            {
                value = builder.ToString();
                return true;
            }
        }
        value = string.Empty;
        return false;
    }
}
