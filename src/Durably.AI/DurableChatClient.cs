using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Durably.Journal;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Durably.AI;

/// <summary>Journals each model round-trip made inside a Durably run as a model step, so that recovery replays the recorded answer instead of calling the model again.</summary>
/// <remarks>
/// <para>Inside a run (<see cref="RunContext.Current"/> is set, that is, in workflow code) each
/// <see cref="GetResponseAsync"/> call is one journaled model step: the response (messages with their text, function
/// calls and results, finish reason, usage, model id, response id) is recorded, and on replay the same response is
/// returned without calling the inner client. A streaming call is one step as well, replayed as the same sequence of
/// updates. Outside a run, and inside step bodies, calls pass through unchanged.</para>
/// <para>Inside a run the response is returned as it was journaled, also on its first execution: its
/// <see cref="ChatResponse.RawRepresentation"/> is <see langword="null"/> and loosely typed values (function call
/// arguments, additional properties) are <see cref="JsonElement"/>s, so code cannot take a branch the first time
/// that replay would not take.</para>
/// <para>Compose it inside function invocation, so that every model round-trip and every tool call is its own step:
/// <c>new ChatClientBuilder(model).UseFunctionInvocation().UseDurably().Build()</c>, with side-effecting tools made
/// durable by <see cref="DurableAIFunctionExtensions.AsDurable"/>. The opposite order would journal a whole tool loop as
/// one model step and repeat its tool calls after a crash inside it; the constructor refuses it.</para>
/// <para>Token usage reported by the inner client is recorded with each step (see <see cref="TokenAccounting"/>).
/// Request messages are stored once per run (see <see cref="DurableChatClientOptions.DeduplicateMessages"/>).
/// Thread-safe; calls made in parallel from one workflow must be issued in a deterministic order, like any steps.</para>
/// </remarks>
public sealed class DurableChatClient : DelegatingChatClient
{
    private static readonly AsyncLocal<bool> InModelStepFlag = new();
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, bool> _plainToolsReported = new(StringComparer.Ordinal);

    /// <summary>Creates a durable chat client over <paramref name="innerClient"/>.</summary>
    /// <param name="innerClient">The client that calls the model.</param>
    /// <param name="options">The options; defaults when <see langword="null"/>.</param>
    /// <param name="loggerFactory">Where to warn about tools offered to the model that are not durable (once per tool name).</param>
    /// <exception cref="InvalidOperationException"><paramref name="innerClient"/> contains a <see cref="FunctionInvokingChatClient"/>: function invocation must wrap this client, not the other way round.</exception>
    public DurableChatClient(IChatClient innerClient, DurableChatClientOptions? options = null, ILoggerFactory? loggerFactory = null)
        : base(innerClient)
    {
        _logger = (ILogger?)loggerFactory?.CreateLogger<DurableChatClient>() ?? NullLogger.Instance;
        Options = options ?? new DurableChatClientOptions();
        ArgumentException.ThrowIfNullOrWhiteSpace(Options.StepName, nameof(options));
        ArgumentNullException.ThrowIfNull(Options.SerializerOptions, nameof(options));
        if (innerClient.GetService<FunctionInvokingChatClient>() is not null)
        {
            throw new InvalidOperationException(
                "UseDurably() is outside UseFunctionInvocation() in this pipeline, so a whole tool loop would be journaled as one model step and its tool calls repeated after a crash. "
                + "Put function invocation outside: new ChatClientBuilder(model).UseFunctionInvocation().UseDurably().Build().");
        }
    }

    /// <summary>Gets the options.</summary>
    public DurableChatClientOptions Options { get; }

    // Set while a model step's body runs, so a durable tool called there (by a tool loop inside this client) can refuse.
    internal static bool InModelStep => InModelStepFlag.Value;

    private JsonSerializerOptions Json => Options.SerializerOptions;

    /// <inheritdoc/>
    public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return RunContext.Current is { } run
            ? GetJournaledResponseAsync(run, messages, options, cancellationToken)
            : base.GetResponseAsync(messages, options, cancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// <para>Inside a run, updates are passed on as they arrive, and the enumeration ends only after the step's outcome is
    /// durable. Start durable steps after the loop, not inside it: a crash mid-stream streams the call again, possibly
    /// with other content.</para>
    /// <para>Stopping the enumeration early cancels the inner stream and journals the updates received so far, so replay
    /// yields them and the loop stops at the same place. A stream that fails before its first update is retried per
    /// <see cref="DurableChatClientOptions.Retry"/>; one that fails after updates were passed on cannot take them back, so
    /// its updates and error are journaled and the enumeration ends with a <see cref="StepFailedException"/>, on replay
    /// as the first time.</para>
    /// </remarks>
    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        return RunContext.Current is { } run
            ? GetJournaledUpdatesAsync(run, messages, options, cancellationToken)
            : base.GetStreamingResponseAsync(messages, options, cancellationToken);
    }

    // Everything before the first await runs synchronously in the caller's flow, so the step number is taken in call order.
    private async Task<ChatResponse> GetJournaledResponseAsync(RunContext run, IEnumerable<ChatMessage> messages, ChatOptions? chatOptions, CancellationToken cancellationToken)
    {
        var ledger = ConversationLedger.For(run);
        var request = ChatJson.Prepare(messages, chatOptions, Json, Options.VerifyRequests);
        ReportPlainTools(run, chatOptions);
        var record = await run.StepAsync(
            Options.StepName,
            async step =>
            {
                InModelStepFlag.Value = true;
                using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(step.CancellationToken, cancellationToken);
                var response = await InnerClient.GetResponseAsync(request.Messages, chatOptions, cancellation.Token);
                Report(step, response.Usage, response.ModelId ?? chatOptions?.ModelId);
                return ledger.Record(request, Options.DeduplicateMessages, Json, response, updates: null);
            },
            StepOptionsFor(request, ledger, chatOptions));
        ledger.Remember(request, record);
        return ChatJson.ToResponse(record, Json);
    }

    private async IAsyncEnumerable<ChatResponseUpdate> GetJournaledUpdatesAsync(RunContext run, IEnumerable<ChatMessage> messages, ChatOptions? chatOptions, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var ledger = ConversationLedger.For(run);
        var request = ChatJson.Prepare(messages, chatOptions, Json, Options.VerifyRequests);
        ReportPlainTools(run, chatOptions);
        var live = Channel.CreateUnbounded<ChatResponseUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var stopped = new CancellationTokenSource();
        var executed = false;
        var stepTask = run.StepAsync(
            Options.StepName,
            async step =>
            {
                executed = true;
                InModelStepFlag.Value = true;
                using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(step.CancellationToken, cancellationToken, stopped.Token);
                var updates = new List<JsonElement>();
                var received = new List<ChatResponseUpdate>();
                ErrorInfo? failure = null;
                try
                {
                    await foreach (var update in InnerClient.GetStreamingResponseAsync(request.Messages, chatOptions, cancellation.Token))
                    {
                        // Every update is a sign of life: with a heartbeat timeout, a stream that stalls is treated as hung.
                        step.Heartbeat();
                        var body = JsonSerializer.SerializeToElement(update, Json);
                        updates.Add(body);

                        // The caller sees the journaled form, as replay will show it.
                        var journaled = ChatJson.ToUpdate(body, Json);
                        received.Add(journaled);
                        live.Writer.TryWrite(journaled);
                        if (Options.JournalStreamProgress && journaled.Text is { Length: > 0 } text)
                        {
                            step.ReportProgress(text);
                        }
                    }
                }
                catch (Exception) when (stopped.IsCancellationRequested)
                {
                    // The caller stopped reading: what arrived is the step's outcome, so replay stops at the same place.
                }
                catch (Exception ex) when (received.Count > 0 && (!step.CancellationToken.IsCancellationRequested || step.TimedOutBy is not null))
                {
                    // The caller has seen updates already, which a retry cannot take back: the updates and the error (a stall past
                    // the heartbeat timeout, or the call outlasting its timeout, included) are the step's outcome, so replay yields
                    // the same updates and then throws the same error.
                    failure = ErrorInfo.FromException(step.TimedOutBy is { } kind ? TimeoutOf(step, kind) : ex);
                }

                var streamed = received.ToChatResponse();
                Report(step, streamed.Usage, streamed.ModelId ?? chatOptions?.ModelId);
                var record = ledger.Record(request, Options.DeduplicateMessages, Json, response: null, updates);
                if (failure is not null)
                {
                    record.Error = failure;
                    record.Step = step.Step;
                }

                return record;
            },
            StepOptionsFor(request, ledger, chatOptions));

        // The channel completes when the step's outcome is durable (or it failed), never before.
        _ = stepTask.ContinueWith(static (_, channel) => ((Channel<ChatResponseUpdate>)channel!).Writer.TryComplete(), live, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        var finished = false;
        try
        {
            while (await live.Reader.WaitToReadAsync(CancellationToken.None))
            {
                while (live.Reader.TryRead(out var update))
                {
                    yield return update;
                }
            }

            // The channel completes only once the step has ended, so there is nothing left to stop.
            finished = true;
            var record = await stepTask;
            ledger.Remember(request, record);
            if (!executed)
            {
                foreach (var body in record.Updates ?? [])
                {
                    yield return ChatJson.ToUpdate(body, Json);
                }
            }

            if (record.Error is { } error)
            {
                throw new StepFailedException(Options.StepName, record.Step ?? 0, error);
            }
        }
        finally
        {
            if (!finished)
            {
                // Stopped early: end the inner stream, and let the step's outcome become durable before the workflow moves on.
                await stopped.CancelAsync();
                ledger.Remember(request, await stepTask);
            }
        }
    }

    // A function tool that is not durable runs again on replay; say so once per tool.
    private void ReportPlainTools(RunContext run, ChatOptions? chatOptions)
    {
        if (chatOptions?.Tools is not { Count: > 0 } tools || !_logger.IsEnabled(LogLevel.Warning))
        {
            return;
        }

        foreach (var tool in tools)
        {
            if (tool is AIFunction function && function.GetService<DurableAIFunction>() is null && _plainToolsReported.TryAdd(function.Name, true))
            {
                Log.PlainTool(_logger, function.Name, run.RunId);
            }
        }
    }

    private StepOptions StepOptionsFor(PreparedRequest request, ConversationLedger ledger, ChatOptions? chatOptions)
        => StepOptions.Model with
        {
            Arguments = request.Fingerprint,
            Retry = Options.Retry,
            StartToCloseTimeout = Options.StartToCloseTimeout,
            HeartbeatTimeout = Options.HeartbeatTimeout,
            CheckRecorded = (value, reuse) => CheckOptions(request, ledger, value as ModelCallRecord, reuse),
            Telemetry = GenAITelemetry.ForChat(InnerClient, chatOptions),
        };

    // The request's messages are checked by the step's argument hash; its chat options by the record's options hash. A record
    // journaled before options were recorded (version 1) replays unchecked, but a fork never reuses it.
    private StepMismatch? CheckOptions(PreparedRequest request, ConversationLedger ledger, ModelCallRecord? record, StepReuse reuse)
    {
        var (hash, summary) = request.Options;
        if (record is null || record.Options == hash || (reuse == StepReuse.Replay && (!Options.VerifyOptions || record.Options is null)))
        {
            return null;
        }

        if (record.Options is null)
        {
            return new StepMismatch("without recorded chat options (journaled by an older version)", "with chat options " + summary.GetRawText());
        }

        if ((record.OptionsSummary ?? ledger.OptionsSummary(record.Options)) is not { } journaled)
        {
            return new StepMismatch($"with chat options {record.Options}", $"with chat options {hash} ({summary.GetRawText()})");
        }

        var (before, after) = ChatOptionsFingerprint.Difference(journaled, summary);
        return new StepMismatch($"with chat options {before}", $"with chat options {after} (set DurableChatClientOptions.VerifyOptions = false to replay with changed options)");
    }

    private StepTimeoutException TimeoutOf(StepContext step, StepTimeoutKind kind)
        => new(step.Name, step.Step, step.Attempt, kind, (kind == StepTimeoutKind.Heartbeat ? Options.HeartbeatTimeout : Options.StartToCloseTimeout) ?? TimeSpan.Zero);

    private static void Report(StepContext step, UsageDetails? usage, string? model)
    {
        if (usage is not null)
        {
            step.ReportUsage(new TokenUsage(usage.InputTokenCount ?? 0, usage.OutputTokenCount ?? 0) { Model = model });
        }
    }
}
