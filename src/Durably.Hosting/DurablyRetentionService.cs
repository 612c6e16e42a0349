using Durably.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Durably.Hosting;

/// <summary>Runs the host's retention policy: a pass at start-up, then one every <see cref="RetentionPolicy.Interval"/> while the host runs.</summary>
/// <remarks>
/// <para>Each pass archives (when configured), purges the finished runs older than their keep time, and collects unreferenced
/// payload blobs (<see cref="JournalRetention.RunAsync"/>). A pass that fails is logged and the next one runs at the next
/// interval; the host keeps running. Several hosts on one PostgreSQL store may each run retention: purges are transactions,
/// but with archiving on let only one of them do it, so every purged run is in exactly one archive.</para>
/// <para>Logs through the <c>Durably.Hosting.Retention</c> category, and counts on the <c>Durably</c> meter.</para>
/// </remarks>
public sealed partial class DurablyRetentionService : BackgroundService
{
    private readonly IJournalStore _store;
    private readonly RetentionPolicy _policy;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the service.</summary>
    /// <param name="store">The store to keep bounded.</param>
    /// <param name="policy">The policy; it is checked here.</param>
    /// <param name="timeProvider">The clock for keep times and the interval; the system clock when null.</param>
    /// <param name="loggerFactory">The logger factory, or null for no logs.</param>
    /// <exception cref="ArgumentOutOfRangeException">The policy is not valid.</exception>
    public DurablyRetentionService(IJournalStore store, RetentionPolicy policy, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        _store = store;
        _policy = policy;
        _time = timeProvider ?? TimeProvider.System;
        _logger = loggerFactory?.CreateLogger("Durably.Hosting.Retention") ?? NullLogger.Instance;
    }

    /// <summary>Gets the number of passes finished, with or without an error.</summary>
    public long Passes => Interlocked.Read(ref _passes);

    /// <summary>Gets the number of runs purged since the host started.</summary>
    public long RunsPurged => Interlocked.Read(ref _purged);

    private long _passes;
    private long _purged;

    /// <summary>Raised after every pass with its result (<see langword="null"/> when it failed), for monitoring and tests; the next pass is already scheduled then.</summary>
    public event Action<RetentionResult?>? PassCompleted;

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            RetentionResult? result = null;
            try
            {
                result = await JournalRetention.RunAsync(_store, _policy, _time, stoppingToken).ConfigureAwait(false);
                Interlocked.Add(ref _purged, result.Purged.Count);
                if (result.Purged.Count > 0 || result.Blobs is { Deleted: > 0 })
                {
                    LogPass(_logger, result.Purged.Count, result.Entries, result.ArchiveFile ?? "none", result.Blobs?.Deleted ?? 0, result.Blobs?.BytesFreed ?? 0);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogFailed(_logger, _policy.Interval.TotalSeconds, ex);
            }

            Interlocked.Increment(ref _passes);

            // The next pass is scheduled before anyone hears of this one, so an observer that moves the clock on cannot miss it.
            var next = Task.Delay(_policy.Interval, _time, stoppingToken);
            PassCompleted?.Invoke(result);
            try
            {
                await next.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Retention purged {Runs} finished run(s) with {Entries} journal entries (archive: {Archive}) and deleted {Blobs} unreferenced payload blob(s), {BlobBytes} bytes")]
    private static partial void LogPass(ILogger logger, int runs, long entries, string archive, long blobs, long blobBytes);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Error, Message = "A retention pass failed; the next runs in {IntervalSeconds} s")]
    private static partial void LogFailed(ILogger logger, double intervalSeconds, Exception exception);
}
