using Microsoft.Agents.AI.Workflows;

namespace Durably.Agents.Workflows;

// What one process knows of a session's checkpoint run: its checkpoints in commit order and how far it has read.
internal sealed class SessionJournal(string sessionId, RunId runId)
{
    private readonly List<IndexEntry> _index = [];
    private readonly Dictionary<string, IndexEntry> _byId = new(StringComparer.Ordinal);

    public string SessionId { get; } = sessionId;

    public RunId RunId { get; } = runId;

    // Serializes reads and writes of this session in this process; other processes are detected by sequence conflicts.
    public SemaphoreSlim Gate { get; } = new(1, 1);

    // The next journal sequence: 0 while the run does not exist (or has not been read yet).
    public long NextSequence { get; set; }

    public int Count => _index.Count;

    // Whether the run holds a RunCompleted entry: the session was completed and takes no more checkpoints.
    public bool Completed { get; set; }

    public void Add(IndexEntry entry)
    {
        if (_byId.TryAdd(entry.Info.CheckpointId, entry))
        {
            _index.Add(entry);
        }
    }

    public IndexEntry? Find(string checkpointId) => _byId.GetValueOrDefault(checkpointId);

    public CheckpointInfo[] List(string? parentId)
        => [.. _index.Where(e => parentId is null || e.Parent == parentId).Select(e => e.Info)];
}

// One checkpoint in the index: who it is, its parent's id, and the sequence of the journal entry holding its value.
internal sealed record IndexEntry(CheckpointInfo Info, string? Parent, long Sequence);
