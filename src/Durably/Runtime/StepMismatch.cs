namespace Durably;

/// <summary>Names what differs between a journaled step and the call that would reuse it (returned by <see cref="StepOptions.CheckRecorded"/>).</summary>
/// <param name="Journaled">What the journal holds, completing "the journal holds model step 'chat' ...", for example <c>with chat options model 'gpt-4o'</c>.</param>
/// <param name="Requested">What the call asks for, completing "the code asked for the same step ...", for example <c>with chat options model 'gpt-4o-mini'</c>.</param>
public sealed record StepMismatch(string Journaled, string Requested);
