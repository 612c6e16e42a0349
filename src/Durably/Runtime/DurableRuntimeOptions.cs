using Durably.Codecs;

namespace Durably;

/// <summary>Configures a <see cref="DurableRuntime"/>.</summary>
public sealed class DurableRuntimeOptions
{
    /// <summary>Gets this worker's name; leases are held under it.</summary>
    /// <remarks>
    /// <para>Default <c>{machine}:{process id}</c>, unique among live processes. At start-up the runtime takes back runs
    /// whose leases are held under its own name without waiting for them to expire (a previous incarnation that
    /// crashed held them), so give a fixed name only to a host that is the sole process with that name.</para>
    /// <para>A restarted host with the default name does not find its old leases under its new name. On the SQLite store
    /// it does not need to: the store sees that the old holder's process is gone and lets the new host claim those runs at
    /// start-up. Stores that cannot tell (PostgreSQL) hand them over when the leases expire, after <see cref="LeaseDuration"/>.</para>
    /// </remarks>
    public string WorkerId { get; init; } = $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>Gets the most runs executed at once by this runtime. Default 64.</summary>
    public int MaxConcurrentRuns { get; init; } = 64;

    /// <summary>Gets how long a lease lasts; renewed every third of it while a run executes. Default 30 seconds.</summary>
    /// <remarks>Also how long a run waits for another worker after its worker dies, where the store cannot see that the worker died
    /// (the SQLite store can, see <see cref="WorkerId"/>). While a step with a <see cref="StepOptions.HeartbeatTimeout"/> runs, the lease
    /// is kept that much shorter instead. Each renewal also looks for a cancel delivered by another process.</remarks>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets how often the store is polled for runs made runnable by other processes. Default 1 second.</summary>
    /// <remarks>
    /// A store that implements <see cref="Storage.IRunWakeupSource"/> (PostgreSQL) wakes the worker as soon as another process
    /// delivers a signal, starts a run or releases a lease; the poll then only catches timers falling due, expired leases
    /// of workers that died, and wake-ups lost while the store reconnects, so it can be longer.
    /// </remarks>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets the longest wait (timer, retry backoff) kept in memory; longer waits suspend and unload the run. Default zero: every wait unloads.</summary>
    public TimeSpan MaxInMemoryWait { get; init; } = TimeSpan.Zero;

    /// <summary>Gets the default checkpoint policy for workflows that do not set one. Default <see cref="CheckpointPolicy.EveryStep"/>.</summary>
    public CheckpointPolicy Checkpoint { get; init; } = CheckpointPolicy.EveryStep;

    /// <summary>Gets the factor by which a compute step must outlast a journal write to be journaled under <see cref="CheckpointPolicy.Adaptive"/>. Default 4.</summary>
    public double AdaptiveCostFactor { get; init; } = 4;

    /// <summary>Gets the retry policy of steps that do not set one. Default <see cref="RetryPolicy.Default"/>.</summary>
    public RetryPolicy DefaultRetry { get; init; } = RetryPolicy.Default;

    /// <summary>Gets the codec for inputs, results and signal payloads. Default <see cref="JsonPayloadCodec.Default"/>.</summary>
    public IPayloadCodec Codec { get; init; } = JsonPayloadCodec.Default;

    /// <summary>Gets the clock for timers, leases and retries. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
