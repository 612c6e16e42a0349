using Durably.Codecs;

namespace Durably.Testing;

/// <summary>Configures a <see cref="JournalReplayer"/>.</summary>
public sealed class ReplayOptions
{
    /// <summary>Gets the payload codec the journal was written with (its keys, for an encrypted journal). Default JSON.</summary>
    public IPayloadCodec Codec { get; init; } = JsonPayloadCodec.Default;

    /// <summary>Gets the checkpoint policy the workflow ran under in production. Default <see cref="CheckpointPolicy.EveryStep"/>.</summary>
    public CheckpointPolicy Checkpoint { get; init; } = CheckpointPolicy.EveryStep;

    /// <summary>Gets how long one replay may take. Default 30 seconds.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
}
