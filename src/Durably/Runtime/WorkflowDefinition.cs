using Durably.Codecs;
using Durably.Journal;

namespace Durably;

// A registered workflow with its input and result types erased, so the runtime can invoke it from a journal.
internal sealed class WorkflowDefinition
{
    private readonly Func<RunContext, Payload?, IPayloadCodec, Task<Payload?>> _invoke;

    private WorkflowDefinition(string name, WorkflowOptions options, Func<RunContext, Payload?, IPayloadCodec, Task<Payload?>> invoke)
    {
        Name = name;
        Options = options;
        _invoke = invoke;
    }

    public string Name { get; }

    public WorkflowOptions Options { get; }

    public Task<Payload?> InvokeAsync(RunContext context, Payload? input, IPayloadCodec codec) => _invoke(context, input, codec);

    public static WorkflowDefinition Create<TInput, TResult>(string name, WorkflowOptions options, Func<RunContext, TInput, Task<TResult>> body)
        => new(name, options, async (context, input, codec) =>
        {
            var value = input is null ? default! : codec.Decode<TInput>(input);
            var result = await body(context, value);
            return codec.Encode(result);
        });
}
