using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Durably.Codecs;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Testing;

// How a run ended, in comparable form: its status and its result as JSON, or its error as "Type: message".
internal sealed record RunOutcome(RunStatus Status, string Text, string? ErrorType)
{
    public static RunOutcome? FromJournal(IReadOnlyList<JournalEntry> journal, RunRecord? run, IPayloadCodec codec) => journal.LastOrDefault() switch
    {
        RunCompleted completed => new(RunStatus.Completed, ResultJson(completed.Result, codec), null),
        RunFailed failed => new(run?.Status ?? RunStatus.Failed, ErrorText(failed.Error, codec), failed.Error.Type),
        RunCancelled cancelled => new(RunStatus.Cancelled, "cancelled: " + cancelled.Reason, null),
        _ when run is { Status: var status } && status.IsFinished() => new(status, run.StatusDetail ?? status.ToString(), null),
        _ => null,
    };

    public static string ResultJson(Payload? result, IPayloadCodec codec)
        => result is null ? "null" : Encoding.UTF8.GetString(JsonMarshal.GetRawUtf8Value(codec.Decode<JsonElement>(result)));

    private static string ErrorText(ErrorInfo error, IPayloadCodec codec)
        => $"{error.Type}: {(error.EncodedMessage is { } encoded ? codec.Decode<string>(encoded) : error.Message)}";
}
