using System.Security.Cryptography;
using System.Text;
using Durably.Journal;

namespace Durably.Storage;

/// <summary>Takes large payloads out of journal entries and puts them back, for stores that offload payloads to a blob store.</summary>
/// <remarks>
/// <para>For stores: call <see cref="Encode"/> in place of <see cref="StoreLimits.Encode"/> on the caller's thread; write every
/// <see cref="OffloadedBlob"/> it returns (durably) before the transaction that commits the entry, and record which run refers
/// to which hash in that transaction, so garbage collection knows what is in use. On read, pass the decoded entries through
/// <c>ResolveAsync</c>.</para>
/// <para>A reference is itself a payload with the reserved encoding <see cref="ReferenceEncoding"/>, so the wire format of entries
/// does not change and a store that knows nothing of blobs keeps it as it keeps any payload. Thread-safe.</para>
/// </remarks>
public static class PayloadBlobs
{
    /// <summary>The reserved payload encoding of a reference to an offloaded payload. Codecs must not use it.</summary>
    public const string ReferenceEncoding = "durably-blob";

    /// <summary>Returns the lower-case hexadecimal SHA-256 of <paramref name="data"/>, a blob's name.</summary>
    public static string Hash(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>Serializes an entry, offloading every payload larger than <see cref="PayloadBlobOptions.InlineLimit"/>, and checks the sizes.</summary>
    /// <param name="entry">The entry.</param>
    /// <param name="maxEntryBytes">The largest serialized entry (with references in place of offloaded payloads).</param>
    /// <param name="options">The offloading options, or <see langword="null"/> to keep every payload inline (then this is <see cref="StoreLimits.Encode"/>).</param>
    /// <param name="offloaded">Receives the payloads taken out; created on the first one.</param>
    /// <returns>The serialized entry to store in the row.</returns>
    /// <exception cref="PayloadTooLargeException">A payload is larger than <see cref="PayloadBlobOptions.MaxBlobBytes"/>, or the entry is larger than <paramref name="maxEntryBytes"/>.</exception>
    public static byte[] Encode(JournalEntry entry, int maxEntryBytes, PayloadBlobOptions? options, ref List<OffloadedBlob>? offloaded)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var bytes = JournalSerializer.Serialize(entry);

        // The common case costs one comparison more than StoreLimits.Encode: an entry no larger than the inline limit has no payload above it.
        if (options is not null && bytes.Length > options.InlineLimit)
        {
            var replaced = Offload(entry, options, ref offloaded);
            if (!ReferenceEquals(replaced, entry))
            {
                bytes = JournalSerializer.Serialize(replaced);
            }
        }

        StoreLimits.CheckSize($"Journal entry {entry.Sequence} ({entry.GetType().Name})", bytes.Length, maxEntryBytes);
        return bytes;
    }

    /// <summary>Returns the payload to store for a signal: a reference when the payload is larger than the inline limit, the payload itself otherwise.</summary>
    /// <exception cref="PayloadTooLargeException">The payload is larger than <see cref="PayloadBlobOptions.MaxBlobBytes"/>.</exception>
    public static Payload? Offload(Payload? payload, PayloadBlobOptions? options, ref List<OffloadedBlob>? offloaded)
    {
        if (payload is null || options is null || payload.Length <= options.InlineLimit || payload.Encoding == ReferenceEncoding)
        {
            return payload;
        }

        StoreLimits.CheckSize("The payload", payload.Length, options.MaxBlobBytes);
        var hash = Hash(payload.Data.Span);
        (offloaded ??= []).Add(new OffloadedBlob(hash, payload.Data));
        return ToReference(new PayloadBlobReference(hash, payload.Encoding, payload.Length));
    }

    /// <summary>Makes the payload that stands for an offloaded one.</summary>
    public static Payload ToReference(PayloadBlobReference reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        return Payload.FromStored(ReferenceEncoding, Encoding.UTF8.GetBytes($"{reference.Sha256}:{reference.Length}:{reference.Encoding}"));
    }

    /// <summary>Reads the reference a payload holds, if it is one.</summary>
    /// <returns><see langword="true"/> when <paramref name="payload"/> is a reference to an offloaded payload.</returns>
    /// <exception cref="FormatException">The payload has the reference encoding but is not a reference.</exception>
    public static bool TryGetReference(Payload? payload, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PayloadBlobReference? reference)
    {
        reference = null;
        if (payload is null || payload.Encoding != ReferenceEncoding)
        {
            return false;
        }

        var text = Encoding.UTF8.GetString(payload.Data.Span);
        var first = text.IndexOf(':', StringComparison.Ordinal);
        var second = first < 0 ? -1 : text.IndexOf(':', first + 1);
        if (first != 64 || second < 0 || !long.TryParse(text.AsSpan(first + 1, second - first - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length) || second == text.Length - 1)
        {
            throw new FormatException($"A payload with the reserved encoding '{ReferenceEncoding}' does not hold a blob reference ('{text}').");
        }

        reference = new PayloadBlobReference(text[..first], text[(second + 1)..], length);
        return true;
    }

    /// <summary>Lists the hashes of the blobs an entry refers to.</summary>
    public static IEnumerable<string> References(JournalEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (TryGetReference(PayloadOf(entry), out var reference))
        {
            yield return reference.Sha256;
        }
    }

    /// <summary>Puts offloaded payloads back into entries read from a store.</summary>
    /// <param name="entries">The decoded entries of one run.</param>
    /// <param name="read">Reads a blob by hash; <see langword="null"/> when it is missing.</param>
    /// <param name="runId">The run, for messages.</param>
    /// <param name="location">Where the blobs are kept, for messages.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns><paramref name="entries"/> itself when none refers to a blob; otherwise a copy with the payloads restored.</returns>
    /// <exception cref="JournalCorruptedException">A blob is missing, or its bytes do not match its hash or length.</exception>
    public static async ValueTask<IReadOnlyList<JournalEntry>> ResolveAsync(IReadOnlyList<JournalEntry> entries, Func<string, CancellationToken, ValueTask<byte[]?>> read, string runId, string location, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(read);
        List<JournalEntry>? resolved = null;
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            if (PayloadOf(entry) is not { Encoding: ReferenceEncoding } stored)
            {
                resolved?.Add(entry);
                continue;
            }

            resolved ??= [.. entries.Take(i)];
            var payload = await ResolvePayloadAsync(stored, read, $"Entry {entry.Sequence} of run '{runId}'", location, cancellationToken).ConfigureAwait(false);
            resolved.Add(WithPayload(entry, payload));
        }

        return resolved ?? entries;
    }

    /// <summary>Puts an offloaded payload back: returns <paramref name="payload"/> itself when it is not a reference.</summary>
    /// <param name="payload">The stored payload.</param>
    /// <param name="read">Reads a blob by hash; <see langword="null"/> when it is missing.</param>
    /// <param name="owner">What holds the payload, for messages: <c>"Signal 4 to run 'order-1'"</c>.</param>
    /// <param name="location">Where the blobs are kept, for messages.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="JournalCorruptedException">The blob is missing, or its bytes do not match its hash or length.</exception>
    public static async ValueTask<Payload?> ResolvePayloadAsync(Payload? payload, Func<string, CancellationToken, ValueTask<byte[]?>> read, string owner, string location, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(read);
        PayloadBlobReference? reference;
        try
        {
            if (!TryGetReference(payload, out reference))
            {
                return payload;
            }
        }
        catch (FormatException ex)
        {
            throw new JournalCorruptedException($"{owner} in {location} holds a damaged blob reference: {ex.Message} The journal is damaged; restore it from a backup.", ex) { StoreLocation = location };
        }

        byte[]? data;
        try
        {
            data = await read(reference.Sha256, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new JournalStoreException($"{owner} refers to payload blob {reference.Sha256}, which could not be read from {location}: {ex.Message}", ex) { StoreLocation = location };
        }

        if (data is null)
        {
            throw new JournalCorruptedException($"{owner} refers to payload blob {reference.Sha256} ({reference.Length:N0} bytes), which is missing from {location}. The blob was deleted or never reached the disk; restore the blob folder (or table) from the same backup as the journal.") { StoreLocation = location };
        }

        if (data.Length != reference.Length || Hash(data) != reference.Sha256)
        {
            throw new JournalCorruptedException($"{owner} refers to payload blob {reference.Sha256}, whose bytes in {location} do not match its hash ({data.Length:N0} bytes, {reference.Length:N0} expected): the blob was changed after it was written. Restore it from a backup.") { StoreLocation = location };
        }

        return Payload.FromStored(reference.Encoding, data);
    }

    private static JournalEntry Offload(JournalEntry entry, PayloadBlobOptions options, ref List<OffloadedBlob>? offloaded)
    {
        var payload = PayloadOf(entry);
        var stored = Offload(payload, options, ref offloaded);
        return ReferenceEquals(stored, payload) ? entry : WithPayload(entry, stored);
    }

    // The one payload an entry may carry. Entries hold at most one; a new payload-bearing entry type is added here.
    private static Payload? PayloadOf(JournalEntry entry) => entry switch
    {
        StepCompleted e => e.Result,
        RunStarted e => e.Input,
        SignalReceived e => e.Payload,
        RunCompleted e => e.Result,
        _ => null,
    };

    private static JournalEntry WithPayload(JournalEntry entry, Payload? payload) => entry switch
    {
        StepCompleted e => e with { Result = payload },
        RunStarted e => e with { Input = payload },
        SignalReceived e => e with { Payload = payload },
        RunCompleted e => e with { Result = payload },
        _ => entry,
    };
}
