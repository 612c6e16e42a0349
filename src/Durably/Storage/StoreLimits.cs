using System.Globalization;
using Durably.Journal;

namespace Durably.Storage;

/// <summary>Holds the limits and argument checks every store applies the same way.</summary>
public static class StoreLimits
{
    /// <summary>The default largest serialized journal entry: 4 MiB.</summary>
    public const int DefaultMaxEntryBytes = 4 * 1024 * 1024;

    /// <summary>The largest page a run listing returns.</summary>
    public const int MaxPageSize = 1000;

    /// <summary>The longest signal name, in characters.</summary>
    public const int MaxSignalNameLength = 256;

    /// <summary>Serializes an entry and checks its size against <paramref name="maxEntryBytes"/>.</summary>
    /// <exception cref="PayloadTooLargeException">The entry is larger than the limit.</exception>
    public static byte[] Encode(JournalEntry entry, int maxEntryBytes)
    {
        var bytes = JournalSerializer.Serialize(entry);
        CheckSize($"Journal entry {entry.Sequence} ({entry.GetType().Name})", bytes.Length, maxEntryBytes);
        return bytes;
    }

    /// <summary>Throws <see cref="PayloadTooLargeException"/> when <paramref name="size"/> exceeds <paramref name="limit"/>.</summary>
    public static void CheckSize(string what, long size, long limit)
    {
        if (size > limit)
        {
            throw new PayloadTooLargeException(what, size, limit);
        }
    }

    /// <summary>Checks a page size and returns it.</summary>
    public static int CheckPageSize(int pageSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pageSize, MaxPageSize);
        return pageSize;
    }

    /// <summary>Formats a listing position as an opaque continuation token.</summary>
    public static string FormatToken(long position) => "p" + position.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses a continuation token made by <see cref="FormatToken"/>.</summary>
    /// <exception cref="ArgumentException">The token was not made by a store.</exception>
    public static long? ParseToken(string? token)
    {
        if (token is null)
        {
            return null;
        }

        if (token.Length > 1 && token[0] == 'p' && long.TryParse(token.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var position))
        {
            return position;
        }

        throw new ArgumentException($"The continuation token '{token}' was not issued by this store; pass the token from the previous page, or null for the first page.", nameof(token));
    }

    /// <summary>Checks a signal's name.</summary>
    public static void CheckSignal(SignalMessage signal)
    {
        ArgumentNullException.ThrowIfNull(signal);
        if (string.IsNullOrWhiteSpace(signal.Name) || signal.Name.Length > MaxSignalNameLength || signal.Name.Any(char.IsControl) || JournalText.IndexOfLoneSurrogate(signal.Name) >= 0)
        {
            throw new ArgumentException($"A signal name is 1 to {MaxSignalNameLength} characters of valid UTF-16 text without control characters.", nameof(signal));
        }
    }

    /// <summary>Checks a claim request.</summary>
    public static void CheckClaim(ClaimRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Owner, nameof(request));
        ArgumentOutOfRangeException.ThrowIfLessThan(request.MaxRuns, 1, nameof(request));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(request.LeaseDuration, TimeSpan.Zero, nameof(request));
    }
}
