using System.Text.Json.Serialization;

namespace Durably;

/// <summary>Says what recovery does with an effect step whose intent is journaled but whose outcome is not.</summary>
/// <remarks>Such a step may or may not have taken effect before the crash.</remarks>
public enum InDoubtPolicy
{
    /// <summary>Run the step again with the same idempotency key; right when the target deduplicates by that key.</summary>
    [JsonStringEnumMemberName("retry")]
    Retry,

    /// <summary>Ask a user callback whether the effect happened; it returns the outcome or says it did not happen.</summary>
    [JsonStringEnumMemberName("reconcile")]
    Reconcile,

    /// <summary>Fail the run with an in-doubt error.</summary>
    [JsonStringEnumMemberName("fail")]
    Fail,

    /// <summary>Suspend the run until a person resolves the step: done with a result, retry, or abort.</summary>
    [JsonStringEnumMemberName("askHuman")]
    AskHuman,
}
