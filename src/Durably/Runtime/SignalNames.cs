namespace Durably;

// Names of signals the runtime itself sends.
internal static class SignalNames
{
    public const string Cancel = "$cancel";

    public const string ApprovalPrefix = "approval:";

    public static string Approval(string gate) => ApprovalPrefix + gate;

    // The gate of an approval signal's name, or null for any other signal.
    public static string? GateOf(string signalName) => signalName.StartsWith(ApprovalPrefix, StringComparison.Ordinal) ? signalName[ApprovalPrefix.Length..] : null;

    public static string Resolve(int step) => "$resolve:" + step.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
