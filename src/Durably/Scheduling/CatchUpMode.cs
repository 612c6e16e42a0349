namespace Durably.Scheduling;

/// <summary>Names what a schedule does with fires it missed (see <see cref="CatchUpPolicy"/>).</summary>
public enum CatchUpMode
{
    /// <summary>Missed fires are skipped.</summary>
    None = 0,

    /// <summary>Only the latest missed fire starts.</summary>
    Last = 1,

    /// <summary>The missed fires start, the latest <see cref="CatchUpPolicy.MaxFires"/> of them, oldest first.</summary>
    All = 2,
}
