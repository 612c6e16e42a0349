using Microsoft.Extensions.Options;

namespace Durably.Hosting;

// Makes options whose properties are init-only: created (from configuration or defaults), then passed through the
// code's configure functions in order (each returns the options to use), then validated. The standard factory
// configures by mutating an instance, which init-only options do not allow.
internal sealed class DurablyOptionsFactory<TOptions>(
    Func<TOptions> create,
    IReadOnlyList<Func<TOptions, TOptions>> configure,
    IEnumerable<IValidateOptions<TOptions>> validators) : IOptionsFactory<TOptions>
    where TOptions : class
{
    public TOptions Create(string name)
    {
        var options = create();
        foreach (var change in configure)
        {
            options = change(options)
                ?? throw new InvalidOperationException($"A function that configures {typeof(TOptions).Name} returned null. Return the options to use (the ones it was given, or new ones).");
        }

        var failures = new List<string>();
        foreach (var validator in validators)
        {
            if (validator.Validate(name, options) is { Failed: true } result)
            {
                failures.AddRange(result.Failures ?? [result.FailureMessage]);
            }
        }

        return failures.Count > 0 ? throw new OptionsValidationException(name, typeof(TOptions), failures) : options;
    }
}
