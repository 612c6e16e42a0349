using Durably.Journal;
using Durably.Storage;

namespace Durably;

// How a run ended, as the runtime that finished it saw it: its final status and, for a completed run, its encoded result.
internal sealed record RunFinish(RunStatus Status, Payload? Result);
