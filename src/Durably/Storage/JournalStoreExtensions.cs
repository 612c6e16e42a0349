namespace Durably.Storage;

/// <summary>Convenience members for <see cref="IJournalStore"/>.</summary>
public static class JournalStoreExtensions
{
    /// <summary>Appends entries to one run and waits until they are durable.</summary>
    /// <inheritdoc cref="IJournalStore.AppendAsync(IReadOnlyList{RunAppend}, CancellationToken)"/>
    public static ValueTask AppendAsync(this IJournalStore store, RunAppend append, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(append);
        return store.AppendAsync([append], cancellationToken);
    }
}
