using System.Text.Json;
using Durably.Journal;
using Microsoft.Extensions.AI;

namespace Durably.AI;

/// <summary>Wraps an <see cref="AIFunction"/> so that, inside a Durably run, each invocation is a journaled step: an effect by default, whose result is replayed after a crash instead of invoking the function again.</summary>
/// <remarks>
/// <para>Create it with <see cref="DurableAIFunctionExtensions.AsDurable"/> and give it to a <see cref="FunctionInvokingChatClient"/>
/// as usual. Inside a run (<see cref="RunContext.Current"/> is set) an invocation is an effect step named <c>tool:{name}</c>:
/// its intent is durable before the function runs, its result (as JSON) is durable before the tool loop goes on, and
/// recovery follows the tool's in-doubt policy. The function reads its idempotency key and fencing token from
/// <see cref="CurrentStep"/>. Outside a run the function is invoked directly.</para>
/// <para>The step number is taken synchronously when the function is invoked, before anything is awaited, so parallel tool
/// calls (<see cref="FunctionInvokingChatClient.AllowConcurrentInvocation"/>) are numbered in the order the tool loop starts
/// them, which is the order of the calls in the model's response.</para>
/// <para>Inside a run the result is returned as the <see cref="JsonElement"/> it was journaled as (or <see langword="null"/>),
/// on the first execution as on replay, serialized with the function's <see cref="AIFunction.JsonSerializerOptions"/>.</para>
/// </remarks>
public sealed class DurableAIFunction : DelegatingAIFunction
{
    private static readonly AsyncLocal<StepContext?> Step = new();

    /// <summary>Creates a durable wrapper around <paramref name="innerFunction"/>.</summary>
    /// <exception cref="ArgumentException">The options give a step kind other than <see cref="StepKind.Effect"/> or <see cref="StepKind.Compute"/>.</exception>
    public DurableAIFunction(AIFunction innerFunction, DurableToolOptions? options = null)
        : base(innerFunction)
    {
        Options = options ?? new DurableToolOptions();
        if (Options.Kind is not (StepKind.Effect or StepKind.Compute))
        {
            throw new ArgumentException($"A durable tool is an effect step or a compute step, not a {Options.Kind} step.", nameof(options));
        }

        StepName = Options.StepName ?? "tool:" + innerFunction.Name;
        ArgumentException.ThrowIfNullOrWhiteSpace(StepName, nameof(options));
    }

    /// <summary>Gets the step the current durable tool invocation runs in, or <see langword="null"/> outside one.</summary>
    /// <remarks>
    /// Read it inside the tool's body for the <see cref="StepContext.IdempotencyKey"/> (pass it on, for example as an
    /// <c>Idempotency-Key</c> header), the <see cref="StepContext.FencingToken"/> and the <see cref="StepContext.Attempt"/>.
    /// It flows across awaits, like <see cref="FunctionInvokingChatClient.CurrentContext"/>.
    /// </remarks>
    public static StepContext? CurrentStep => Step.Value;

    /// <summary>Gets the options.</summary>
    public DurableToolOptions Options { get; }

    /// <summary>Gets the name of the tool's steps in the journal.</summary>
    public string StepName { get; }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The tool was invoked inside a model step (a tool loop inside a <see cref="DurableChatClient"/>), where it could not be journaled on its own.</exception>
    protected override ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken)
    {
        if (RunContext.Current is not { } run)
        {
            if (DurableChatClient.InModelStep)
            {
                throw new InvalidOperationException(
                    $"Durable tool '{Name}' was invoked inside a model step, where its call cannot be journaled on its own and would repeat after a crash. "
                    + "Put function invocation outside the durable client: new ChatClientBuilder(model).UseFunctionInvocation().UseDurably().Build().");
            }

            return base.InvokeCoreAsync(arguments, cancellationToken);
        }

        // Not async up to StepAsync: the step number must be taken before the tool loop starts the next call.
        return new ValueTask<object?>(InvokeStepAsync(run, arguments, cancellationToken));
    }

    private async Task<object?> InvokeStepAsync(RunContext run, AIFunctionArguments arguments, CancellationToken cancellationToken)
    {
        var result = await run.StepAsync<JsonElement?>(
            StepName,
            async step =>
            {
                Step.Value = step;
                using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(step.CancellationToken, cancellationToken);
                var value = await base.InvokeCoreAsync(arguments, cancellation.Token);
                return value switch
                {
                    null => null,
                    JsonElement element => element.Clone(),
                    _ => JsonSerializer.SerializeToElement(value, JsonSerializerOptions.GetTypeInfo(value.GetType())),
                };
            },
            new StepOptions
            {
                Kind = Options.Kind,
                Idempotent = Options.Idempotent,
                InDoubt = Options.InDoubt,
                Reconcile = Options.Reconcile,
                Retry = Options.Retry,
                Compensate = Options.Compensate,
                StartToCloseTimeout = Options.StartToCloseTimeout,
                HeartbeatTimeout = Options.HeartbeatTimeout,
                Arguments = Options.VerifyArguments ? HashArguments(arguments) : null,
                Telemetry = GenAITelemetry.ForTool(Name),
            });
        return result is { ValueKind: not JsonValueKind.Null } element ? element : null;
    }

    private string? HashArguments(AIFunctionArguments arguments)
    {
        try
        {
            return ChatJson.Hash(JsonSerializer.SerializeToUtf8Bytes(arguments, JsonSerializerOptions.GetTypeInfo(typeof(IDictionary<string, object?>))));
        }
        catch (Exception ex) when (ex is NotSupportedException or JsonException or InvalidOperationException)
        {
            // Arguments that cannot be serialized are not checked on replay.
            return null;
        }
    }
}
