namespace Durably;

/// <summary>Says why a journaled result is about to be reused for a step (see <see cref="StepOptions.CheckRecorded"/>).</summary>
public enum StepReuse
{
    /// <summary>The run replays its own journal: the step ran before in this run.</summary>
    Replay,

    /// <summary>A fork offers the result its source run recorded (a cache hit for a model step, a dry-run effect's result).</summary>
    Fork,
}
