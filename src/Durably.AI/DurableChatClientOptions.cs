using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Durably.AI;

/// <summary>Configures a <see cref="DurableChatClient"/>.</summary>
public sealed class DurableChatClientOptions
{
    /// <summary>Gets the name of each model step in the journal. Default <c>chat</c>.</summary>
    /// <remarks>On replay the n-th step must have the same name; give clients that play different roles in a workflow different names (for example <c>plan</c> and <c>draft</c>) so a timeline reads well.</remarks>
    public string StepName { get; init; } = "chat";

    /// <summary>Gets a value indicating whether each model step records a fingerprint of its request messages, checked on replay. Default <see langword="true"/>.</summary>
    /// <remarks>
    /// A replayed call whose messages differ from the journaled ones stops the run with a <see cref="NonDeterminismException"/>
    /// instead of returning an answer to another question. The fingerprint covers each message's role, author, contents and
    /// additional properties, not its <see cref="ChatMessage.MessageId"/> or <see cref="ChatMessage.CreatedAt"/>, which some
    /// clients generate afresh on every execution. Chat options are checked by <see cref="VerifyOptions"/>. Off, model steps record
    /// no request hash, and a fork (<see cref="ForkRequest.ReuseModelOutputs"/>) never reuses their outputs.
    /// </remarks>
    public bool VerifyRequests { get; init; } = true;

    /// <summary>Gets a value indicating whether a replayed model call must have the chat options it was journaled with. Default <see langword="true"/>.</summary>
    /// <remarks>
    /// <para>Each model step records a hash of the <see cref="ChatOptions"/> that decide what the model answers: model id, instructions,
    /// temperature, top-p, top-k, penalties, seed, max output tokens, stop sequences, response format, tool mode, parallel tool
    /// calls, reasoning options, the tools offered (each by name, description and parameter schema) and additional properties; not
    /// per-call values (conversation id, continuation token, background responses). A replayed call with other options stops
    /// the run with a <see cref="NonDeterminismException"/> naming the options that changed, as a changed request does.</para>
    /// <para>Set it to <see langword="false"/> to let runs in flight replay after a deliberate change of options (a new tool, a
    /// cheaper model). The hash is recorded either way, and a fork matches on it whatever this says. Steps journaled before
    /// options were recorded replay without the check.</para>
    /// </remarks>
    public bool VerifyOptions { get; init; } = true;

    /// <summary>Gets a value indicating whether a model step stores only request messages the run has not journaled before. Default <see langword="true"/>.</summary>
    /// <remarks>
    /// When on, each message is identified by a hash of its JSON, its body is stored the first time it appears in the run, and
    /// a request is recorded as a reference to an earlier step's conversation plus the hashes of what is new, so the journal
    /// grows with new content instead of with the square of the conversation's length. When off, every model step stores its
    /// whole request, which makes each entry readable in isolation. Replay never reads request bodies, so both are exact.
    /// </remarks>
    public bool DeduplicateMessages { get; init; } = true;

    /// <summary>Gets a value indicating whether a streaming model step journals the text it receives while it streams, so that watchers of the run in any process see it live. Default <see langword="true"/>.</summary>
    /// <remarks>
    /// The text deltas are journaled as <see cref="Durably.Journal.StepProgress"/> entries through <see cref="StepContext.ReportProgress"/>:
    /// coalesced, at most one entry per <see cref="StepContext.ProgressInterval"/> or few kilobytes, batched with other writes by group
    /// commit, and ignored by replay (the step's outcome holds the whole response). A stream that ends within the first interval
    /// journals none. Turn it off to keep journals to the outcomes alone; watchers then see the model step when it completes.
    /// Non-streaming calls never journal progress.
    /// </remarks>
    public bool JournalStreamProgress { get; init; } = true;

    /// <summary>Gets the retry policy of model steps; the runtime's default when <see langword="null"/>.</summary>
    public RetryPolicy? Retry { get; init; }

    /// <summary>Gets the longest one attempt of a model call may take; no limit when <see langword="null"/>.</summary>
    /// <remarks>Means what <see cref="StepOptions.StartToCloseTimeout"/> means: the call's token is cancelled, the attempt fails with a
    /// <see cref="StepTimeoutException"/> and <see cref="Retry"/> decides whether the call is made again. A streaming call that has
    /// passed updates on cannot be retried (see <see cref="DurableChatClient.GetStreamingResponseAsync"/>): its updates and the timeout
    /// are its outcome.</remarks>
    public TimeSpan? StartToCloseTimeout { get; init; }

    /// <summary>Gets the heartbeat timeout of model calls; none when <see langword="null"/>.</summary>
    /// <remarks>Means what <see cref="StepOptions.HeartbeatTimeout"/> means: while a call runs, the run's lease is kept about this far
    /// ahead, so a worker that dies mid-call is replaced after about this long. A streaming call heartbeats with every update, so a
    /// stream that stalls for longer than this is treated as hung (cancelled, failed with a <see cref="StepTimeoutException"/>); a
    /// call that is not streamed cannot heartbeat and is watched only for its process being alive (bound it with
    /// <see cref="StartToCloseTimeout"/>).</remarks>
    public TimeSpan? HeartbeatTimeout { get; init; }

    /// <summary>Gets the serializer options for messages, responses and updates. Default: <see cref="AIJsonUtilities.DefaultOptions"/> without indentation.</summary>
    /// <remarks>Custom <see cref="AIContent"/> types must be registered in these options (see <see cref="AIJsonUtilities.AddAIContentType{TContent}(JsonSerializerOptions, string)"/>) to be journaled.</remarks>
    public JsonSerializerOptions SerializerOptions { get; init; } = ChatJson.DefaultOptions;
}
