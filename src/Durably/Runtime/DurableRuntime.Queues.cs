using Durably.Storage;

namespace Durably;

// Queues registered in code, saved into the store at start-up before the first claim.
public sealed partial class DurableRuntime
{
    private readonly List<QueueDefinition> _queues = [];

    /// <summary>Registers a queue; <see cref="StartAsync"/> saves its definition into the store before the first claim, so runs started on it are
    /// dequeued within its limits from the first moment.</summary>
    /// <remarks>
    /// <para>A queue registered in code is owned by the code: at start-up a stored definition that differs is replaced by this one, so limits
    /// changed with <see cref="DurableClient.ConfigureQueueAsync"/> or <c>durably queues set</c> last until the next start of a worker that
    /// registers the queue. A pause is the exception: a queue paused in the store stays paused (an operator's pause is not undone by a
    /// deploy); unpause it with the client or <c>durably queues set</c>. An unchanged definition writes nothing. Manage a queue only from the
    /// CLI or an admin endpoint by not registering it in code.</para>
    /// <para>Workers with different definitions of one queue overwrite each other at their starts (the last start wins): register one
    /// definition everywhere.</para>
    /// </remarks>
    /// <exception cref="ArgumentException">The definition is invalid, or another queue of this runtime has its name.</exception>
    /// <exception cref="InvalidOperationException">The runtime is started already.</exception>
    public void AddQueue(QueueDefinition queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        queue.Validate();
        lock (_queues)
        {
            if (_loop is not null)
            {
                throw new InvalidOperationException($"Add queue '{queue.Name}' before StartAsync. To change the limits of a running host's queue, use its client: runtime.Client.ConfigureQueueAsync(...).");
            }

            if (_queues.Any(q => q.Name == queue.Name))
            {
                throw new ArgumentException($"A queue named '{queue.Name}' is registered already.", nameof(queue));
            }

            _queues.Add(queue);
        }
    }

    private void CheckQueuesSupported()
    {
        if (_queues.Count > 0 && Store is not IRunQueueStore)
        {
            throw new NotSupportedException($"The runtime registers {_queues.Count} queue(s), but its store {Store.GetType().Name} does not support queues (it does not implement IRunQueueStore). Use the SQLite, PostgreSQL or in-memory store, or remove the queues.");
        }
    }

    private async Task SaveQueuesAsync(CancellationToken cancellationToken)
    {
        if (_queues.Count == 0)
        {
            return;
        }

        var stored = (await Client.ListQueuesAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(q => q.Definition.Name, q => q.Definition, StringComparer.Ordinal);
        foreach (var queue in _queues)
        {
            var wanted = stored.TryGetValue(queue.Name, out var current) && current.Paused ? queue with { Paused = true } : queue;
            if (current != wanted)
            {
                await Client.ConfigureQueueAsync(wanted, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
