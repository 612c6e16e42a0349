using System.Text.Json.Serialization;

namespace Durably.Journal;

/// <summary>Records part of what a running step has produced so far, such as text deltas of a streaming model call, so that
/// watchers in other processes see it as it arrives (see <see cref="DurableClient.WatchAsync(RunId, string?, CancellationToken)"/>).</summary>
/// <remarks>
/// <para>Informational only: replay ignores it, because the step's outcome entry holds the whole result. A step reports
/// progress with <see cref="StepContext.ReportProgress"/>; deltas are coalesced, so one entry holds what arrived in about
/// <see cref="StepContext.ProgressInterval"/>, or a few kilobytes.</para>
/// <para>The entries of one attempt of a step, concatenated in sequence order, give the text the attempt streamed up to its
/// outcome. A crash mid-stream leaves the entries written so far; the step then runs again and writes new ones after a new
/// <see cref="StepStarted"/> with the next attempt number.</para>
/// </remarks>
public sealed record StepProgress : JournalEntry
{
    /// <summary>Gets the number of the step that reported the progress.</summary>
    [JsonPropertyName("step")]
    public required int Step { get; init; }

    /// <summary>Gets the text the step produced since its previous progress entry.</summary>
    [JsonPropertyName("text")]
    public required string Text { get; init; }
}
