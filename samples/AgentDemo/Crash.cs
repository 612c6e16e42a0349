using System.Diagnostics;
using Durably;
using Microsoft.Extensions.AI;

namespace AgentDemo;

// --crash-at-step N kills the process right after step N's outcome is durable; --crash-in-step N kills it inside
// step N, after its side effect was sent and before its outcome is journaled (the in-doubt window). Both use
// SIGKILL: no finally blocks, no flushing, nothing orderly, like an OOM kill or a pulled plug.
internal static class Crash
{
    public static int AtStep { get; set; }

    public static int InStep { get; set; }

    private static int s_modelStep;

    public static void InsideStep(int step)
    {
        if (InStep > 0 && step == InStep)
        {
            Die($"inside step {step}, after its side effect and before its outcome was journaled");
        }
    }

    public static void Die(string where)
    {
        Console.Out.Flush();
        Console.Error.WriteLine($"[agent] killing the process {where} (SIGKILL)");
        Console.Error.Flush();
        Process.GetCurrentProcess().Kill();
    }

    // Sees steps as the runtime runs them: remembers which model step is running, and kills after step N.
    public sealed class Observer : RunObserver
    {
        public override void OnStepStarting(RunId runId, StepInfo step)
        {
            if (step.Kind == StepKind.Model)
            {
                Volatile.Write(ref s_modelStep, step.Step);
            }
        }

        public override void OnStepCompleted(RunId runId, StepInfo step, TimeSpan duration, TokenUsage? usage, bool failed)
        {
            if (step.Step == AtStep && !failed)
            {
                Die($"right after step {step.Step}'s outcome became durable");
            }
        }
    }

    // Sits between the durable client and the model: the model has answered, the answer is not journaled yet.
    public sealed class ModelCrashPoint(IChatClient inner) : DelegatingChatClient(inner)
    {
        public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            var response = await base.GetResponseAsync(messages, options, cancellationToken);
            InsideStep(Volatile.Read(ref s_modelStep));
            return response;
        }
    }
}
