using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace AgentDemo;

// The main job: the agent runs in a child process that is killed at step 7, runs again on the same journal, and the
// two runs are compared with each other, with an uninterrupted run and with what a naive restart would have done.
internal static class Story
{
    private const int CrashAt = 7;

    public static async Task<int> RunAsync(DemoOptions options)
    {
        var store = Path.GetFullPath(options.Store);
        var reference = Path.ChangeExtension(store, null) + "-reference.db";
        foreach (var file in new[] { store, reference }.SelectMany(f => new[] { f, f + "-wal", f + "-shm" }))
        {
            File.Delete(file);
        }

        var output = Path.GetFullPath(options.OutputFolder);
        if (Directory.Exists(output))
        {
            Directory.Delete(output, recursive: true);
        }

        await using var server = ToolServer.Start();
        Console.WriteLine("Durably demo: a 12-step research agent that plans with a model, queries three APIs, writes two files,");
        Console.WriteLine("notifies a chat, drafts a report, waits for approval, sleeps on a durable timer, publishes and summarises.");
        Console.WriteLine($"Journal: {store}   tools: {server.BaseUrl} (they honour Idempotency-Key)\n");

        Console.WriteLine($"Process 1 runs the agent and is killed with SIGKILL right after step {CrashAt} is journaled:");
        var first = await RunChildAsync(1, options, store, options.RunId, server.BaseUrl, crashAt: CrashAt);
        Console.WriteLine(first.ExitCode == 0
            ? "  [1] (the process was expected to die but finished)"
            : $"  [1] killed (exit code {first.ExitCode}). Steps 1-{CrashAt} are journaled; the rest never ran.\n");

        Console.WriteLine("Process 2 starts the same run id on the same journal:");
        var second = await RunChildAsync(2, options, store, options.RunId, server.BaseUrl, crashAt: 0);
        Console.WriteLine();

        Console.WriteLine("For comparison, the same agent once more, uninterrupted, on a fresh journal:");
        var uninterrupted = await RunChildAsync(3, options, reference, options.RunId + "-reference", server.BaseUrl, crashAt: 0, quiet: true);
        Console.WriteLine();

        if (second.ExitCode != 0 || uninterrupted.ExitCode != 0)
        {
            Console.Error.WriteLine($"The demo failed: process 2 exited {second.ExitCode}, the uninterrupted run {uninterrupted.ExitCode}.\n{second.Errors}{uninterrupted.Errors}");
            return 1;
        }

        Summarize(options, first, second, uninterrupted, server, output);
        return 0;
    }

    private static void Summarize(DemoOptions options, ChildRun first, ChildRun second, ChildRun uninterrupted, ToolServer server, string output)
    {
        var requests = server.Requests.Where(r => r.Key.StartsWith(options.RunId + ":", StringComparison.Ordinal)).ToList();
        var writes = File.Exists(Path.Combine(output, options.RunId, "effects.log")) ? File.ReadAllLines(Path.Combine(output, options.RunId, "effects.log")) : [];
        var applied = requests.Count(r => !r.Duplicate) + writes.Length;
        var effects = ResearchAgent.EffectSteps.Length;

        Console.WriteLine("What happened                          process 1 (killed)   process 2 (resumed)");
        Console.WriteLine($"  steps executed                        {first.Executed,10}   {second.Executed,19}");
        Console.WriteLine($"  steps replayed from the journal       {first.Replayed,10}   {second.Replayed,19}");
        Console.WriteLine($"  model calls paid for                  {first.ModelCalls,10}   {second.ModelCalls,19}");
        Console.WriteLine($"  tokens paid for                       {first.TokensSpent,10:N0}   {second.TokensSpent,19:N0}");
        Console.WriteLine($"  side effects sent                     {first.EffectsSent,10}   {second.EffectsSent,19}");
        Console.WriteLine();
        Console.WriteLine($"Side effects: {requests.Count} requests reached the tools and {writes.Length} files were written, one per step: "
            + $"{applied} of {effects} effects applied, {requests.Count(r => r.Duplicate)} duplicates.");
        var repeatedKeys = requests.GroupBy(r => r.Key).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Console.WriteLine(repeatedKeys.Count == 0 ? "Each idempotency key was sent exactly once." : $"Keys sent more than once (deduplicated by the target): {string.Join(", ", repeatedKeys)}");
        Console.WriteLine($"Replay saved {second.TokensSaved:N0} tokens: the model calls of steps {string.Join(", ", second.ReplayedModelSteps)} were not made again.");
        Console.WriteLine();

        var naiveEffects = first.CompletedEffectSteps;
        Console.WriteLine("A naive restart (no journal) would have started again at step 1 and:");
        Console.WriteLine($"  repeated {naiveEffects.Count} side effects: {string.Join(", ", naiveEffects.Select(Events.StepName))}");
        Console.WriteLine($"  paid again for {first.ModelCalls} model calls ({first.TokensSpent:N0} tokens), and taken whatever branches new model outputs led to.");
        Console.WriteLine();

        var same = second.Hash == uninterrupted.Hash;
        Console.WriteLine($"Final report (sha256 {second.Hash}), {(same ? "identical to the uninterrupted run" : "DIFFERENT from the uninterrupted run " + uninterrupted.Hash)}:");
        Console.WriteLine(Indent(second.Result));
    }

    private static async Task<ChildRun> RunChildAsync(int number, DemoOptions options, string store, string runId, string toolsUrl, int crashAt, bool quiet = false)
    {
        var info = SelfStartInfo();
        foreach (var arg in new[] { "run", "--store", store, "--run-id", runId, "--tools-url", toolsUrl, "--events", "json", "--approve", "auto", "--timer", options.TimerSeconds.ToString(CultureInfo.InvariantCulture), "--out", options.OutputFolder, "--topic", options.Topic })
        {
            info.ArgumentList.Add(arg);
        }

        if (crashAt > 0)
        {
            info.ArgumentList.Add("--crash-at-step");
            info.ArgumentList.Add(crashAt.ToString(CultureInfo.InvariantCulture));
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the agent process");
        var errors = process.StandardError.ReadToEndAsync();
        var run = new ChildRun();
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (Events.Parse(line) is not { } e)
            {
                continue;
            }

            var replayedBefore = e["event"]?.GetValue<string>() == "step.replayed" && run.HasSeen(e["step"]?.GetValue<int>() ?? 0);
            run.Add(e);
            if (!quiet && !replayedBefore && Describe(number, e, run) is { } text)
            {
                Console.WriteLine(text);
            }
        }

        await process.WaitForExitAsync();
        run.ExitCode = process.ExitCode;
        run.Errors = await errors;
        if (quiet)
        {
            Console.WriteLine($"  [{number}] {run.Executed} steps executed, {run.Replayed} replayed, sha256 {run.Hash}");
        }

        return run;
    }

    private static string? Describe(int process, JsonObject e, ChildRun run)
    {
        var step = e["step"]?.GetValue<int>() ?? 0;
        var name = Events.StepName(step);
        var tokens = (e["tokens_in"]?.GetValue<long>() ?? 0) + (e["tokens_out"]?.GetValue<long>() ?? 0);
        return (string?)e["event"] switch
        {
            "step.completed" => $"  [{process}] step {step,2}  {name,-26} executed{(tokens > 0 ? $", {tokens:N0} tokens paid" : "")}",
            "step.replayed" => $"  [{process}] step {step,2}  {name,-26} replayed from the journal{(tokens > 0 ? $", {tokens:N0} tokens not paid again" : "")}",
            "run.suspended" => $"  [{process}]          suspended: {e["detail"]}",
            "run.completed" => $"  [{process}] run completed, sha256 {(string?)e["sha256"]}",
            "error" => $"  [{process}] error: {e["message"]}",
            _ => null,
        };
    }

    private static ProcessStartInfo SelfStartInfo()
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var info = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            info.ArgumentList.Add(typeof(Story).Assembly.Location);
        }

        return info;
    }

    private static string Indent(string text) => string.Join("\n", text.Split('\n').Select(l => "  | " + l));

    // What one child process reported through its JSON events. A process may activate the run several times (after
    // the approval, after the timer); each activation replays the steps before it, so steps are counted once each.
    private sealed class ChildRun
    {
        private readonly SortedSet<int> _executed = [];
        private readonly SortedSet<int> _replayed = [];
        private readonly Dictionary<int, long> _modelTokens = [];

        public int ExitCode { get; set; }

        public string Errors { get; set; } = "";

        public int Executed => _executed.Count;

        public int Replayed => _replayed.Except(_executed).Count();

        public int ModelCalls => _modelTokens.Keys.Count(_executed.Contains);

        public long TokensSpent => _modelTokens.Where(kv => _executed.Contains(kv.Key)).Sum(kv => kv.Value);

        public long TokensSaved => _modelTokens.Where(kv => !_executed.Contains(kv.Key)).Sum(kv => kv.Value);

        public int EffectsSent => CompletedEffectSteps.Count;

        public List<int> CompletedEffectSteps { get; } = [];

        public IEnumerable<int> ReplayedModelSteps => _modelTokens.Keys.Where(k => !_executed.Contains(k)).Order();

        public string Hash { get; private set; } = "(none)";

        public string Result { get; private set; } = "";

        // Whether this process already reported the step (so a later activation's replay of it is not printed again).
        public bool HasSeen(int step) => _executed.Contains(step) || _replayed.Contains(step);

        public void Add(JsonObject e)
        {
            var kind = (string?)e["kind"];
            var step = e["step"]?.GetValue<int>() ?? 0;
            var tokens = (e["tokens_in"]?.GetValue<long>() ?? 0) + (e["tokens_out"]?.GetValue<long>() ?? 0);
            switch ((string?)e["event"])
            {
                case "step.completed" when e["failed"]?.GetValue<bool>() != true:
                    _executed.Add(step);
                    if (kind == "model")
                    {
                        _modelTokens[step] = tokens;
                    }

                    if (kind == "effect" && !CompletedEffectSteps.Contains(step))
                    {
                        CompletedEffectSteps.Add(step);
                    }

                    break;
                case "step.replayed":
                    _replayed.Add(step);
                    if (kind == "model")
                    {
                        _modelTokens.TryAdd(step, tokens);
                    }

                    break;
                case "run.completed":
                    Hash = (string?)e["sha256"] ?? Hash;
                    Result = (string?)e["result"] ?? "";
                    break;
            }
        }
    }
}
