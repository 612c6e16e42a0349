using Microsoft.Extensions.Logging;

namespace Durably.AI;

// Source-generated log messages with stable event ids.
internal static partial class Log
{
    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Tool '{Tool}' is offered to the model inside run {RunId} but is not durable: its calls run again on replay, and if its result differs the run stops on non-determinism. Wrap it with AsDurable().")]
    public static partial void PlainTool(ILogger logger, string tool, RunId runId);
}
