using System.Globalization;
using Durably.Journal;

namespace Durably.Storage;

/// <summary>Holds the limits and argument checks every store applies the same way.</summary>
/// <remarks>For stores: call these at the start of each <see cref="IJournalStore"/> method so that every store refuses the same input with the same message. All members are thread-safe.</remarks>
public static class StoreLimits
{
    /// <summary>The default largest serialized journal entry: 4 MiB.</summary>
    public const int DefaultMaxEntryBytes = 4 * 1024 * 1024;

    /// <summary>The largest page a run listing returns.</summary>
    public const int MaxPageSize = 1000;

    /// <summary>The longest signal name, in characters.</summary>
    public const int MaxSignalNameLength = 256;

    /// <summary>Serializes an entry and checks its size against <paramref name="maxEntryBytes"/>.</summary>
    /// <remarks>Stores call it on the caller's thread, before queuing the write, so the writer only does I/O.</remarks>
    /// <exception cref="PayloadTooLargeException">The entry is larger than the limit.</exception>
    public static byte[] Encode(JournalEntry entry, int maxEntryBytes)
    {
        var bytes = JournalSerializer.Serialize(entry);
        CheckSize($"Journal entry {entry.Sequence} ({entry.GetType().Name})", bytes.Length, maxEntryBytes);
        return bytes;
    }

    /// <summary>Throws <see cref="PayloadTooLargeException"/> when <paramref name="size"/> exceeds <paramref name="limit"/>.</summary>
    /// <param name="what">What is measured, for the message: <c>"The signal payload"</c>.</param>
    /// <param name="size">Its size in bytes.</param>
    /// <param name="limit">The largest size allowed.</param>
    /// <exception cref="PayloadTooLargeException"><paramref name="size"/> exceeds <paramref name="limit"/>.</exception>
    public static void CheckSize(string what, long size, long limit)
    {
        if (size > limit)
        {
            throw new PayloadTooLargeException(what, size, limit);
        }
    }

    /// <summary>Checks a page size and returns it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is less than 1 or more than <see cref="MaxPageSize"/>.</exception>
    public static int CheckPageSize(int pageSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pageSize, MaxPageSize);
        return pageSize;
    }

    /// <summary>Formats a listing position as an opaque continuation token.</summary>
    public static string FormatToken(long position) => "p" + position.ToString(CultureInfo.InvariantCulture);

    /// <summary>Makes the page a listing returns from the runs a store read for it.</summary>
    /// <remarks>Read up to <c>pageSize + 1</c> runs in listing order, each with its position (the value <see cref="ParseToken"/> gives back to resume after it): when there are more than <paramref name="pageSize"/>, the page holds the first <paramref name="pageSize"/> and a token that resumes after the last of them.</remarks>
    /// <param name="rows">The runs read, in listing order, with their positions.</param>
    /// <param name="pageSize">The page size, as checked by <see cref="CheckPageSize"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="rows"/> is null.</exception>
    public static RunPage ToPage(IReadOnlyList<(RunRecord Run, long Position)> rows, int pageSize)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return rows.Count > pageSize
            ? new RunPage([.. rows.Take(pageSize).Select(r => r.Run)], FormatToken(rows[pageSize - 1].Position))
            : new RunPage([.. rows.Select(r => r.Run)], null);
    }

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

    /// <summary>Checks a signal to deliver: its name, and the size of its payload against <paramref name="maxPayloadBytes"/>.</summary>
    /// <param name="signal">The signal.</param>
    /// <param name="maxPayloadBytes">The largest payload the store accepts, usually its largest entry.</param>
    /// <exception cref="ArgumentNullException"><paramref name="signal"/> is null.</exception>
    /// <exception cref="ArgumentException">The name is empty, too long, or holds control characters or invalid UTF-16.</exception>
    /// <exception cref="PayloadTooLargeException">The payload is larger than <paramref name="maxPayloadBytes"/>.</exception>
    public static void CheckSignal(SignalMessage signal, long maxPayloadBytes)
    {
        ArgumentNullException.ThrowIfNull(signal);
        if (string.IsNullOrWhiteSpace(signal.Name) || signal.Name.Length > MaxSignalNameLength || signal.Name.Any(char.IsControl) || JournalText.IndexOfLoneSurrogate(signal.Name) >= 0)
        {
            throw new ArgumentException($"A signal name is 1 to {MaxSignalNameLength} characters of valid UTF-16 text without control characters.", nameof(signal));
        }

        if (signal.Payload is { } payload)
        {
            CheckSize("The signal payload", payload.Length, maxPayloadBytes);
        }
    }

    /// <summary>Checks a claim request.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is null.</exception>
    /// <exception cref="ArgumentException">The owner is empty, or the run count or lease duration is not positive.</exception>
    public static void CheckClaim(ClaimRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Owner, nameof(request));
        ArgumentOutOfRangeException.ThrowIfLessThan(request.MaxRuns, 1, nameof(request));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(request.LeaseDuration, TimeSpan.Zero, nameof(request));
    }
}
