using System.ComponentModel.DataAnnotations;
using System.Reflection;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Validates an options class by its data annotations and <see cref="IValidatableObject"/>, reporting each
/// attribute's own <c>ErrorMessage</c>, which is where Relay names the configuration key. (The
/// <c>[OptionsValidator]</c> source generator in Microsoft.Extensions.Options 10 replaces custom messages on
/// <c>[Range]</c> with its default text, which names the C# property instead of the key.) Nested sections marked
/// <see cref="ValidateObjectMembersAttribute"/> are validated the same way.
/// </summary>
public abstract class DataAnnotationsOptionsValidator<TOptions> : IValidateOptions<TOptions> where TOptions : class
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var results = new List<ValidationResult>();
        Collect(options, results);
        return results.Count == 0
            ? ValidateOptionsResult.Success
            // A failing IValidatableObject also makes TryValidateObject return false, so its results may be there twice.
            : ValidateOptionsResult.Fail(results.Select(r => r.ErrorMessage ?? "invalid value").Distinct());
    }

    private static void Collect(object instance, List<ValidationResult> results)
    {
        var attributesValid = Validator.TryValidateObject(instance, new ValidationContext(instance), results, validateAllProperties: true);
        if (!attributesValid && instance is IValidatableObject validatable)
        {
            // TryValidateObject skips IValidatableObject once an attribute fails; report everything at once.
            results.AddRange(validatable.Validate(new ValidationContext(instance)));
        }
        foreach (var property in instance.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.IsDefined(typeof(ValidateObjectMembersAttribute)) && property.GetValue(instance) is { } section)
            {
                Collect(section, results);
            }
        }
    }
}
