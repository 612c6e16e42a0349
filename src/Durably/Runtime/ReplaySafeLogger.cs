using Microsoft.Extensions.Logging;

namespace Durably;

// Drops log messages while the run replays steps that already ran, so each message is written once.
internal sealed class ReplaySafeLogger(ILogger inner, ReplayCursor cursor) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => !cursor.IsReplaying && inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!cursor.IsReplaying)
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
