using Microsoft.Extensions.Logging;

namespace Durably.Testing;

// Catches the exceptions a runtime logs: the NonDeterminismException of a run it stopped, and execution failures.
internal sealed class CapturingLoggerFactory : ILoggerFactory, ILogger
{
    private NonDeterminismException? _nonDeterminism;
    private Exception? _executionFailure;

    public NonDeterminismException? NonDeterminism => Volatile.Read(ref _nonDeterminism);

    public Exception? ExecutionFailure => Volatile.Read(ref _executionFailure);

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        switch (exception)
        {
            case NonDeterminismException nd:
                Interlocked.CompareExchange(ref _nonDeterminism, nd, null);
                break;
            case null or OperationCanceledException or Storage.JournalStoreException:
                break;
            default:
                if (logLevel >= LogLevel.Error)
                {
                    Interlocked.CompareExchange(ref _executionFailure, exception, null);
                }

                break;
        }
    }
}
