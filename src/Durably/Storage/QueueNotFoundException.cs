namespace Durably.Storage;

/// <summary>Thrown when a run is started on a queue that has not been configured in the store.</summary>
public sealed class QueueNotFoundException : DurablyException
{
    /// <summary>Creates the exception.</summary>
    public QueueNotFoundException(string queue)
        : base($"No queue named '{queue}' is configured in this store. Configure it first (DurableClient.ConfigureQueueAsync(new QueueDefinition(\"{queue}\") {{ ... }}) or 'durably queues set {queue}'), or check the name.")
    {
        Queue = queue;
    }

    /// <summary>Gets the queue name that was not found.</summary>
    public string Queue { get; }
}
