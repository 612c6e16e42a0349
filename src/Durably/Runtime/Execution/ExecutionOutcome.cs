namespace Durably;

// How an activation ended.
internal enum ExecutionOutcome
{
    Finished,
    Suspended,
    SuspendedWithNewSignals,
    Abandoned,
}
