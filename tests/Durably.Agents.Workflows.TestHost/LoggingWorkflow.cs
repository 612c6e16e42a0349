using Microsoft.Agents.AI.Workflows;

namespace Durably.Agents.Workflows.TestHost;

// plan -> research -> draft -> publish, one superstep each; every executor records its side effect in the log file.
internal static class LoggingWorkflow
{
    public static readonly string[] Executors = ["plan", "research", "draft", "publish"];

    public static Workflow Build(string log, string? hangAt)
    {
        var bindings = Executors.Select(name => Step(name, log, hangAt)).ToArray();
        var builder = new WorkflowBuilder(bindings[0]);
        for (var i = 1; i < bindings.Length; i++)
        {
            builder.AddEdge(bindings[i - 1], bindings[i]);
        }

        return builder.WithOutputFrom(bindings[^1]).Build();
    }

    private static ExecutorBinding Step(string name, string log, string? hangAt)
    {
        Func<string, IWorkflowContext, CancellationToken, ValueTask<string>> body = async (input, context, cancellationToken) =>
        {
            await File.AppendAllTextAsync(log, $"{name} {input}\n", cancellationToken);
            if (name == hangAt)
            {
                Console.WriteLine($"hanging in {name}");
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return $"{input}>{name}";
        };
        return body.BindAsExecutor<string, string>(name);
    }
}
