using System.Text.Json;
using System.Text.Json.Serialization;

namespace Durably;

/// <summary>Is one event of a run as <see cref="DurableClient.WatchAsync(RunId, string?, CancellationToken)"/> reports it: one journal entry, told for a client.</summary>
/// <remarks>Fields that do not apply to the <see cref="Kind"/> are <see langword="null"/>.</remarks>
public sealed record RunEvent
{
    /// <summary>Gets where the event is in the run's event stream: pass it to <see cref="DurableClient.WatchAsync(RunId, string?, CancellationToken)"/> to get exactly the events after this one.</summary>
    /// <remarks>Opaque: compare and store it as a string. Today it is the entry's journal sequence number in decimal.</remarks>
    [JsonPropertyName("cursor")]
    public required string Cursor { get; init; }

    /// <summary>Gets what the event reports.</summary>
    [JsonPropertyName("kind")]
    public required RunEventKind Kind { get; init; }

    /// <summary>Gets the run.</summary>
    [JsonPropertyName("runId")]
    public required RunId RunId { get; init; }

    /// <summary>Gets the position of the event's entry in the run's journal.</summary>
    [JsonPropertyName("seq")]
    public required long Sequence { get; init; }

    /// <summary>Gets when the entry was written (UTC).</summary>
    [JsonPropertyName("at")]
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>Gets the step's number, for step, wait and progress events.</summary>
    [JsonPropertyName("step")]
    public int? Step { get; init; }

    /// <summary>Gets the step's kind, when the journal names it.</summary>
    [JsonPropertyName("stepKind")]
    public StepKind? StepKind { get; init; }

    /// <summary>Gets the step's name (for run events: the workflow's), when the journal names it.</summary>
    [JsonPropertyName("name")]
    public string? Name { get; init; }

    /// <summary>Gets the attempt, for step started, completed and failed events.</summary>
    [JsonPropertyName("attempt")]
    public int? Attempt { get; init; }

    /// <summary>Gets the text a running step produced since its previous progress event (<see cref="RunEventKind.StepProgress"/>).</summary>
    /// <remarks>The progress events of one attempt, concatenated, give what it streamed; the completed step's result holds the whole response.</remarks>
    [JsonPropertyName("text")]
    public string? Text { get; init; }

    /// <summary>Gets the start of a completed step's or run's result as JSON, at most <see cref="PreviewLength"/> characters (cut ones end in <c>…</c>); <see langword="null"/> for none or one the client's codec cannot read.</summary>
    [JsonPropertyName("preview")]
    public string? Preview { get; init; }

    /// <summary>Gets what a suspended run waits for: <c>signal 'name'</c>, <c>approval 'gate'</c>, <c>timer 'name' until …</c> or <c>deadline of 'name' at …</c>.</summary>
    [JsonPropertyName("waitingFor")]
    public string? WaitingFor { get; init; }

    /// <summary>Gets the failure, for failed steps and runs, or why the run was cancelled.</summary>
    [JsonPropertyName("error")]
    public ErrorInfo? Error { get; init; }

    /// <summary>Gets when a failed step's next attempt is due, or <see langword="null"/> when the failure is final.</summary>
    [JsonPropertyName("retryAt")]
    public DateTimeOffset? RetryAt { get; init; }

    /// <summary>Gets the tokens a completed model step used.</summary>
    [JsonPropertyName("usage")]
    public TokenUsage? Usage { get; init; }

    /// <summary>Gets a value indicating whether this is the run's last event: it completed, failed or was cancelled.</summary>
    [JsonIgnore]
    public bool IsFinal => Kind is RunEventKind.RunCompleted or RunEventKind.RunFailed or RunEventKind.RunCancelled;

    /// <summary>Gets the longest <see cref="Preview"/>, in characters: 200.</summary>
    public static int PreviewLength => 200;

    /// <summary>Returns the event as one line of JSON, with the property names above and enums as their wire names (<c>"kind":"step.completed"</c>); <see langword="null"/> fields are left out.</summary>
    /// <remarks>The form <c>Durably.AspNetCore</c> sends as the <c>data:</c> of a server-sent event; use it to send events over another transport.</remarks>
    public string ToJson() => JsonSerializer.Serialize(this, RunEventJsonContext.Default.RunEvent);
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true)]
[JsonSerializable(typeof(RunEvent))]
internal sealed partial class RunEventJsonContext : JsonSerializerContext;
