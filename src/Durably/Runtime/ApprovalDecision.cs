using System.Text.Json.Serialization;

namespace Durably;

/// <summary>Is a person's decision at an approval gate, as journaled.</summary>
/// <param name="Approved">Whether the gate was approved.</param>
/// <param name="Approver">Who decided (the signal's sender).</param>
/// <param name="Comment">An optional comment.</param>
public sealed record ApprovalDecision(bool Approved, string? Approver, string? Comment);

// The payload of an approval signal.
internal sealed record ApprovalPayload(
    [property: JsonPropertyName("approved")] bool Approved,
    [property: JsonPropertyName("comment")] string? Comment);

/// <summary>Is how a person resolves an effect step left in doubt under <see cref="InDoubtPolicy.AskHuman"/>.</summary>
public sealed record InDoubtResolution
{
    private InDoubtResolution(string action, Journal.Payload? result)
    {
        Action = action;
        Result = result;
    }

    /// <summary>Gets the action: <c>done</c>, <c>retry</c> or <c>abort</c>.</summary>
    public string Action { get; }

    /// <summary>Gets the step's result for <c>done</c>.</summary>
    public Journal.Payload? Result { get; }

    /// <summary>Says the effect happened, with its result (JSON), which becomes the step's outcome.</summary>
    public static InDoubtResolution Done(Journal.Payload? result = null) => new("done", result);

    /// <summary>Says to run the step again with the same idempotency key.</summary>
    public static InDoubtResolution Retry { get; } = new("retry", null);

    /// <summary>Says to fail the step (and so, unless the workflow handles it, the run).</summary>
    public static InDoubtResolution Abort { get; } = new("abort", null);
}

// The payload of a resolution signal.
internal sealed record ResolutionPayload(
    [property: JsonPropertyName("action")] string Action,
    [property: JsonPropertyName("result")] System.Text.Json.JsonElement? Result);
