using Durably.Journal;
using Microsoft.Extensions.Logging;

namespace Durably;

// Source-generated log messages with stable event ids.
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Recovering {Count} unfinished run(s) at start-up")]
    public static partial void Recovering(ILogger logger, int count);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Run {RunId} stopped without recording an outcome; it stays unfinished for recovery")]
    public static partial void Abandoned(ILogger logger, RunId runId, Exception exception);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Run {RunId} failed on non-determinism; its journal is unchanged")]
    public static partial void NonDeterminism(ILogger logger, RunId runId, Exception exception);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Run {RunId} step {Step} '{Name}' was in doubt at recovery; resolving with policy {Policy}")]
    public static partial void InDoubt(ILogger logger, RunId runId, int step, string name, InDoubtPolicy policy);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "The worker loop could not claim runs; retrying after the poll interval")]
    public static partial void ClaimFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Run {RunId} lost its lease; this worker stops working on it")]
    public static partial void LeaseLost(ILogger logger, RunId runId, Exception exception);

    [LoggerMessage(EventId = 7, Level = LogLevel.Error, Message = "Run {RunId} could not be executed")]
    public static partial void ExecutionFailed(ILogger logger, RunId runId, Exception exception);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "Waiting for a wake-up from the store failed; the worker polls until the next pass")]
    public static partial void WakeupFailed(ILogger logger, Exception exception);
}
