using Microsoft.Extensions.Logging;

namespace Durably.Postgres;

// Log messages of this assembly; event ids are stable.
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Created or updated the Durably schema '{Schema}' in {Location}")]
    public static partial void SchemaReady(ILogger logger, string schema, string location);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "The connection to {Location} was lost while committing {Count} appends; reading them back to learn whether the commit happened")]
    public static partial void CommitInDoubt(ILogger logger, string location, int count, Exception exception);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Resolved an in-doubt commit on {Location}: {Landed} appends were committed, {Retried} were not and are written again")]
    public static partial void CommitResolved(ILogger logger, string location, int landed, int retried);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "Could not learn whether {Count} appends were committed on {Location}; they fail with an unknown outcome")]
    public static partial void CommitUnresolved(ILogger logger, string location, int count, Exception exception);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "Retrying a batch of {Count} appends on {Location} after {SqlState}")]
    public static partial void BatchRetried(ILogger logger, string location, int count, string sqlState);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "Listening for wake-ups on channel {Channel} at {Location}")]
    public static partial void Listening(ILogger logger, string channel, string location);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "The wake-up listener lost its connection to {Location}; workers fall back to polling until it reconnects")]
    public static partial void ListenerLost(ILogger logger, string location, Exception exception);
}
