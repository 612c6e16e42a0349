using Microsoft.Extensions.Options;

namespace Durably.Hosting;

// Checks the runtime options at host start, naming each bad value by its configuration key ("Durably:LeaseDuration"),
// or by its property when the options come from code only.
internal sealed class DurableRuntimeOptionsValidator(string section) : IValidateOptions<DurableRuntimeOptions>
{
    public ValidateOptionsResult Validate(string? name, DurableRuntimeOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.WorkerId))
        {
            failures.Add($"{Key("WorkerId")} is empty. Leave it out (the default is machine:process id) or give each worker process its own name.");
        }

        if (options.MaxConcurrentRuns < 1)
        {
            failures.Add($"{Key("MaxConcurrentRuns")} is {options.MaxConcurrentRuns}; it must be at least 1 (default 64).");
        }

        Positive(failures, "LeaseDuration", options.LeaseDuration, "\"00:00:30\"");
        Positive(failures, "PollInterval", options.PollInterval, "\"00:00:01\"");
        if (options.MaxInMemoryWait < TimeSpan.Zero)
        {
            failures.Add($"{Key("MaxInMemoryWait")} is {options.MaxInMemoryWait}; it must be zero (every wait unloads the run, the default) or positive.");
        }

        if (!Enum.IsDefined(options.Checkpoint))
        {
            failures.Add($"{Key("Checkpoint")} is {options.Checkpoint}; it must be one of {string.Join(", ", Enum.GetNames<CheckpointPolicy>())}.");
        }

        if (!(options.AdaptiveCostFactor > 0))
        {
            failures.Add($"{Key("AdaptiveCostFactor")} is {options.AdaptiveCostFactor}; it must be greater than zero (default 4).");
        }

        var retry = options.DefaultRetry;
        if (retry is null)
        {
            failures.Add($"{Key("DefaultRetry")} is null. Leave it out for the default policy, or set RetryPolicy.None for no retries.");
        }
        else
        {
            if (retry.MaxAttempts < 1)
            {
                failures.Add($"{Key("DefaultRetry:MaxAttempts")} is {retry.MaxAttempts}; it must be at least 1 (1 means no retry).");
            }

            if (retry.InitialDelay < TimeSpan.Zero || retry.MaxDelay < TimeSpan.Zero)
            {
                failures.Add($"{Key("DefaultRetry:InitialDelay")} and {Key("DefaultRetry:MaxDelay")} must not be negative (they are {retry.InitialDelay} and {retry.MaxDelay}).");
            }

            if (!(retry.BackoffCoefficient >= 1))
            {
                failures.Add($"{Key("DefaultRetry:BackoffCoefficient")} is {retry.BackoffCoefficient}; it must be at least 1 (default 2).");
            }

            if (!(retry.Jitter is >= 0 and <= 1))
            {
                failures.Add($"{Key("DefaultRetry:Jitter")} is {retry.Jitter}; it must be between 0 and 1 (default 0.2).");
            }
        }

        if (options.Codec is null || options.TimeProvider is null)
        {
            failures.Add($"{Key("Codec")} and {Key("TimeProvider")} must not be null.");
        }

        return failures.Count > 0 ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }

    private string Key(string property) => section.Length == 0 ? $"{nameof(DurableRuntimeOptions)}.{property.Replace(':', '.')}" : $"{section}:{property}";

    private void Positive(List<string> failures, string property, TimeSpan value, string example)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{Key(property)} is {value}; it must be greater than zero, a time span such as {example}.");
        }
    }
}
