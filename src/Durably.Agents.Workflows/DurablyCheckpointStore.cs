using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Durably.Journal;
using Durably.Storage;
using Microsoft.Agents.AI.Workflows;
using Microsoft.Agents.AI.Workflows.Checkpointing;

namespace Durably.Agents.Workflows;

/// <summary>Keeps Microsoft Agent Framework workflow checkpoints in a Durably journal store, so a workflow resumes from its last superstep after a crash.</summary>
/// <remarks>
/// <para>Use it where the framework takes a JSON checkpoint store:
/// <c>CheckpointManager.CreateJson(new DurablyCheckpointStore(store))</c>, with any <see cref="IJournalStore"/>
/// (<c>SqliteJournalStore</c>, <c>PostgresJournalStore</c>).</para>
/// <para>Each workflow session is one run of the workflow <see cref="WorkflowName"/>, with the id
/// <c>wfcp:{session id}</c> (or <c>wfcp@{SHA-256 of the session id}</c> when the session id is not a valid run id); each
/// checkpoint is one step of that run, its value the step's result. <see cref="CreateCheckpointAsync"/> returns only after
/// the checkpoint is durable as the store defines it (synced to disk on SQLite with <c>synchronous=FULL</c>, committed on
/// PostgreSQL), so a superstep the framework reports as checkpointed survives a crash of the process right after. The run is
/// kept suspended with nothing to wait for, so no Durably worker ever claims it, and <c>durably runs list</c> shows it.</para>
/// <para>Thread-safe. Several processes may write checkpoints of the same session: a write that finds the journal moved on
/// reads what the others wrote and appends after it. The index is kept in memory per session and brought up to date from
/// the journal on every call, so checkpoints written by another process are seen.</para>
/// </remarks>
public sealed class DurablyCheckpointStore : JsonCheckpointStore
{
    /// <summary>The workflow name of the runs that hold checkpoints.</summary>
    public const string WorkflowName = "agent-framework.checkpoints";

    private const string StepName = "checkpoint";
    private const string StatusDetail = "holds Agent Framework workflow checkpoints";
    private const string PlainPrefix = "wfcp:";
    private const string HashedPrefix = "wfcp@";

    private readonly IJournalStore _store;
    private readonly DurablyCheckpointStoreOptions _options;
    private readonly ConcurrentDictionary<string, SessionJournal> _sessions = new(StringComparer.Ordinal);

    /// <summary>Creates a checkpoint store over <paramref name="store"/>; the store is not disposed with it.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="store"/> is null.</exception>
    public DurablyCheckpointStore(IJournalStore store, DurablyCheckpointStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _options = options ?? new DurablyCheckpointStoreOptions();
    }

    /// <summary>Returns the id of the run that holds <paramref name="sessionId"/>'s checkpoints.</summary>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is null or empty.</exception>
    public static RunId GetRunId(string sessionId)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        var plain = PlainPrefix + sessionId;
        if (RunId.TryParse(plain, out var runId))
        {
            return runId;
        }

        return new RunId(HashedPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sessionId))));
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is empty, or <paramref name="value"/> is undefined.</exception>
    /// <exception cref="PayloadTooLargeException">The checkpoint is larger than the codec or the store accepts; nothing was written.</exception>
    /// <exception cref="InvalidOperationException">The session's run id belongs to a run that does not hold this session's checkpoints.</exception>
    public override async ValueTask<CheckpointInfo> CreateCheckpointAsync(string sessionId, JsonElement value, CheckpointInfo? parent = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        if (value.ValueKind == JsonValueKind.Undefined)
        {
            throw new ArgumentException("The checkpoint value is an undefined JsonElement (default(JsonElement)), which holds no value.", nameof(value));
        }

        var info = new CheckpointInfo(sessionId, Guid.NewGuid().ToString("N"));
        var result = _options.Codec.Encode(new CheckpointRecord(info.CheckpointId, parent?.CheckpointId, value));
        var session = Session(sessionId);
        await session.Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            while (true)
            {
                await RefreshAsync(session).ConfigureAwait(false);
                if (session.Completed)
                {
                    throw new InvalidOperationException($"Session '{sessionId}' was completed (CompleteSessionAsync), so it takes no more checkpoints. Start the workflow under a new session id.");
                }

                var append = BuildAppend(session, result);
                try
                {
                    await _store.AppendAsync(append).ConfigureAwait(false);
                }
                catch (JournalConcurrencyException)
                {
                    // Another process appended (or created the run) first: read what it wrote and go after it.
                    continue;
                }

                session.Add(new IndexEntry(info, parent?.CheckpointId, append.ExpectedSequence + append.Entries.Count - 1));
                session.NextSequence = append.ExpectedSequence + append.Entries.Count;
                return info;
            }
        }
        finally
        {
            session.Gate.Release();
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is null.</exception>
    /// <exception cref="KeyNotFoundException">The session has no checkpoint with that id.</exception>
    public override async ValueTask<JsonElement> RetrieveCheckpointAsync(string sessionId, CheckpointInfo key)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        ArgumentNullException.ThrowIfNull(key);
        var session = Session(sessionId);
        IndexEntry? found = null;
        await session.Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (key.SessionId == sessionId)
            {
                found = session.Find(key.CheckpointId);
                if (found is null)
                {
                    await RefreshAsync(session).ConfigureAwait(false);
                    found = session.Find(key.CheckpointId);
                }
            }
        }
        finally
        {
            session.Gate.Release();
        }

        if (found is null)
        {
            throw new KeyNotFoundException($"Checkpoint '{key.CheckpointId}' of session '{key.SessionId}' is not in run '{session.RunId}' of the journal store (asked for under session '{sessionId}').");
        }

        var entries = await _store.ReadAsync(session.RunId, found.Sequence).ConfigureAwait(false);
        if (entries.Count == 0 || entries[0] is not StepCompleted { Result: { } payload })
        {
            throw new JournalCorruptedException($"Run '{session.RunId}' has no checkpoint outcome at sequence {found.Sequence}, where its index found checkpoint '{key.CheckpointId}'.");
        }

        return _options.Codec.Decode<CheckpointRecord>(payload).Value;
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is empty.</exception>
    public override async ValueTask<IEnumerable<CheckpointInfo>> RetrieveIndexAsync(string sessionId, CheckpointInfo? withParent = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        var session = Session(sessionId);
        await session.Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await RefreshAsync(session).ConfigureAwait(false);
            return session.List(withParent?.CheckpointId);
        }
        finally
        {
            session.Gate.Release();
        }
    }

    /// <summary>Marks a session finished, so that purging finished runs (<c>durably runs purge</c>, <see cref="IJournalStore.PurgeRunsAsync"/>) may delete its checkpoints.</summary>
    /// <remarks>Checkpoint runs are kept suspended, never finished, so that no purge deletes a session that may still resume. Call this
    /// when a session's workflow has ended for good: its checkpoints stay readable until purged; new ones are refused. Completing a
    /// session that has no checkpoints, or one completed already, does nothing.</remarks>
    /// <returns><see langword="true"/> when this call completed the session.</returns>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is empty.</exception>
    public async Task<bool> CompleteSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        var session = Session(sessionId);
        await session.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                await RefreshAsync(session).ConfigureAwait(false);
                if (session.NextSequence == 0 || session.Completed)
                {
                    return false;
                }

                var end = new RunCompleted { Sequence = session.NextSequence, Timestamp = _options.TimeProvider.GetUtcNow() };
                try
                {
                    await _store.AppendAsync(new RunAppend(session.RunId, session.NextSequence, [end]) { Status = Durably.Storage.RunStatus.Completed }, cancellationToken).ConfigureAwait(false);
                }
                catch (JournalConcurrencyException)
                {
                    continue;
                }

                session.Completed = true;
                session.NextSequence++;
                return true;
            }
        }
        finally
        {
            session.Gate.Release();
        }
    }

    private SessionJournal Session(string sessionId) => _sessions.GetOrAdd(sessionId, id => new SessionJournal(id, GetRunId(id)));

    private RunAppend BuildAppend(SessionJournal session, Payload result)
    {
        var now = _options.TimeProvider.GetUtcNow();
        var sequence = session.NextSequence;
        var step = session.Count + 1;
        var entries = new List<JournalEntry>(3);
        if (sequence == 0)
        {
            entries.Add(new RunStarted { Sequence = sequence++, Timestamp = now, Workflow = WorkflowName, Input = _options.Codec.Encode(new SessionInput(session.SessionId)) });
        }

        entries.Add(new StepStarted { Sequence = sequence++, Timestamp = now, Step = step, Kind = StepKind.Compute, Name = StepName, IdempotencyKey = $"{session.RunId}:{step}" });
        entries.Add(new StepCompleted { Sequence = sequence, Timestamp = now, Step = step, Result = result });
        return new RunAppend(session.RunId, session.NextSequence, entries)
        {
            // Suspended with no wake-up time: no worker claims it, and a purge of finished runs never deletes it.
            Status = session.NextSequence == 0 ? Durably.Storage.RunStatus.Suspended : null,
            StatusDetail = session.NextSequence == 0 ? StatusDetail : null,
        };
    }

    // Reads what the journal holds past what this process has seen, and adds it to the session's index.
    private async Task RefreshAsync(SessionJournal session)
    {
        IReadOnlyList<JournalEntry> entries;
        try
        {
            entries = await _store.ReadAsync(session.RunId, session.NextSequence).ConfigureAwait(false);
        }
        catch (RunNotFoundException)
        {
            return;
        }

        foreach (var entry in entries)
        {
            switch (entry)
            {
                case RunStarted started:
                    CheckOwnRun(session, started);
                    break;
                case RunCompleted:
                    session.Completed = true;
                    break;
                case StepCompleted { Result: { } payload } completed:
                    var header = _options.Codec.Decode<CheckpointHeader>(payload);
                    session.Add(new IndexEntry(new CheckpointInfo(session.SessionId, header.Id), header.Parent, completed.Sequence));
                    break;
            }

            session.NextSequence = entry.Sequence + 1;
        }
    }

    private void CheckOwnRun(SessionJournal session, RunStarted started)
    {
        var holds = started.Workflow == WorkflowName && started.Input is { } input ? _options.Codec.Decode<SessionInput>(input)?.Session : null;
        if (holds != session.SessionId)
        {
            throw new InvalidOperationException(started.Workflow == WorkflowName
                ? $"Run '{session.RunId}' holds the checkpoints of session '{holds}', not of '{session.SessionId}' (their hashed run ids collide). Use another session id."
                : $"Run '{session.RunId}' is a run of workflow '{started.Workflow}', not a checkpoint run of session '{session.SessionId}'. Checkpoint runs use ids starting with '{PlainPrefix}'; do not start other runs with such ids.");
        }
    }
}
