namespace DurablyAgent;

/// <summary>Sends a notification: the workflow's side effect.</summary>
public interface INotifier
{
    /// <summary>Sends <paramref name="message"/>; a real notifier passes <paramref name="idempotencyKey"/> on (an Idempotency-Key header) so that a retry after a crash is not sent twice.</summary>
    Task NotifyAsync(string message, string idempotencyKey, CancellationToken cancellationToken = default);
}

/// <summary>Writes notifications to the console.</summary>
public sealed class ConsoleNotifier : INotifier
{
    /// <inheritdoc/>
    public Task NotifyAsync(string message, string idempotencyKey, CancellationToken cancellationToken = default)
    {
        Console.WriteLine($"notify [{idempotencyKey}]: {message}");
        return Task.CompletedTask;
    }
}
