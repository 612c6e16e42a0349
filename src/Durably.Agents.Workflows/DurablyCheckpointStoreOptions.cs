using Durably.Codecs;

namespace Durably.Agents.Workflows;

/// <summary>Configures a <see cref="DurablyCheckpointStore"/>.</summary>
public sealed class DurablyCheckpointStoreOptions
{
    /// <summary>Gets the codec that encodes each checkpoint into the journal. Default <see cref="JsonPayloadCodec.Default"/> (plain JSON, at most 1 MiB per checkpoint).</summary>
    /// <remarks>Give a codec with a larger limit, compression (<c>JsonPayloadCodec.Default.WithCompression()</c>) or encryption for large or
    /// sensitive workflow state. Every process that reads the checkpoints needs a codec that decodes them.</remarks>
    public IPayloadCodec Codec { get; init; } = JsonPayloadCodec.Default;

    /// <summary>Gets the clock that timestamps journal entries. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
