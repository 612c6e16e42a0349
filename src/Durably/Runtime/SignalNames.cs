using System.Globalization;

namespace Durably;

// Names of the signals the runtime itself sends. They are journaled as they are (old journals must keep replaying),
// so they are reserved: a user's signal may not start with '$' or 'approval:'.
internal static class SignalNames
{
    public const string Cancel = "$cancel";

    public const string ApprovalPrefix = "approval:";

    public const string ResolvePrefix = "$resolve:";

    // A child run's outcome, sent by the child to the parent's step that waits for it.
    public const string ChildPrefix = "$child:";

    // Everything the runtime may send under: '$' is reserved as a whole, for signals added later.
    private const string RuntimePrefix = "$";

    public static string Approval(string gate) => ApprovalPrefix + gate;

    // The gate of an approval signal's name, or null for any other signal.
    public static string? GateOf(string signalName) => signalName.StartsWith(ApprovalPrefix, StringComparison.Ordinal) ? signalName[ApprovalPrefix.Length..] : null;

    public static string Resolve(int step) => ResolvePrefix + step.ToString(CultureInfo.InvariantCulture);

    public static string Child(int step) => ChildPrefix + step.ToString(CultureInfo.InvariantCulture);

    public static bool IsReserved(string name)
        => name.StartsWith(RuntimePrefix, StringComparison.Ordinal) || name.StartsWith(ApprovalPrefix, StringComparison.Ordinal);

    // A user's signal name (SignalAsync, WaitForSignalAsync): valid and not one the runtime sends under.
    public static void CheckUserName(string name, string? paramName)
    {
        JournalText.CheckName(name, paramName);
        if (IsReserved(name))
        {
            throw new ArgumentException(
                $"The signal name '{name}' is reserved: names starting with '$' or '{ApprovalPrefix}' are the runtime's own signals " +
                $"('{Cancel}', '{ResolvePrefix}<step>', '{ApprovalPrefix}<gate>'). Use DurableClient.CancelAsync to cancel a run, " +
                "ApproveAsync (and ctx.WaitForApprovalAsync) for an approval gate, ResolveInDoubtAsync for a step in doubt, or choose another name.",
                paramName);
        }
    }
}
