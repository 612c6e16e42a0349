using System.ComponentModel;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Durably;
using Durably.AI;
using Microsoft.Extensions.AI;

namespace AgentDemo;

// The 12-step research agent. Each numbered step below is one journaled step:
//  1 plan (model)            2-4 query three APIs (tools the model called)   5 draft the report (model)
//  6-7 write two files       8 send a chat notification                      9 wait for a human approval
// 10 sleep on a durable timer 11 publish                                     12 summarise (model)
internal sealed class ResearchAgent(IChatClient model, DemoOptions options, HttpClient http)
{
    public const string Name = "research-agent";

    public static readonly string[] StepNames =
    [
        "plan (model)", "query weather API", "query news API", "query prices API", "draft report (model)",
        "write report.md", "write data.json", "send chat notification", "wait for approval", "sleep on a durable timer",
        "publish", "summarise (model)",
    ];

    // Which numbered steps reach the outside world (the effects a naive restart would repeat).
    public static readonly int[] EffectSteps = [2, 3, 4, 6, 7, 8, 11];

    public static readonly int[] ModelSteps = [1, 5, 12];

    // Registers the agent with a runtime: the model behind a durable chat client, tools as durable effect steps.
    public static void Register(DurableRuntime runtime, IChatClient model, HttpClient http, DemoOptions options)
    {
        var chat = new ChatClientBuilder(model)
            .UseFunctionInvocation()
            .UseDurably()
            .Use(inner => new Crash.ModelCrashPoint(inner))
            .Build();
        runtime.Register<string, string>(Name, (ctx, topic) => new ResearchAgent(chat, options, http).RunAsync(ctx, topic));
    }

    public async Task<string> RunAsync(RunContext ctx, string topic)
    {
        // Steps 1-5: one tool loop. The model plans and asks for three tools; each tool call is a durable effect step;
        // the model then drafts the report from their results. Every round-trip and every tool call is journaled.
        var tools = new ChatOptions
        {
            Tools =
            [
                Tool(nameof(FetchWeatherAsync), FetchWeatherAsync),
                Tool(nameof(FetchNewsAsync), FetchNewsAsync),
                Tool(nameof(FetchPricesAsync), FetchPricesAsync),
            ],
        };
        var draft = await model.GetResponseAsync(
            [
                new ChatMessage(ChatRole.System, "You are a research agent. Use the tools, then write a short report."),
                new ChatMessage(ChatRole.User, $"Research: {topic}"),
            ],
            tools);
        var report = draft.Text;

        // Steps 6-7: two files, written atomically; the idempotency key names the write.
        await ctx.StepAsync("write report.md", step => WriteFileAsync("report.md", report, step), StepOptions.IdempotentEffect);
        await ctx.StepAsync("write data.json", step => WriteFileAsync("data.json", JsonSerializer.Serialize(new { topic, report_chars = report.Length }), step), StepOptions.IdempotentEffect);

        // Step 8: tell the team; the chat API deduplicates by Idempotency-Key.
        await ctx.StepAsync("send chat notification", step => PostAsync("/notify", $"Draft ready for review: {topic}", step), StepOptions.IdempotentEffect);

        // Step 9: a person approves (the run is unloaded meanwhile, for as long as it takes).
        var decision = await ctx.WaitForApprovalAsync("publish");
        if (!decision.Approved)
        {
            return $"Not published: {decision.Approver} rejected it ({decision.Comment}).";
        }

        // Step 10: a cooling-off period, as a durable timer that survives restarts.
        await ctx.SleepAsync(TimeSpan.FromSeconds(options.TimerSeconds), "cool-off");

        // Step 11: publish.
        var published = await ctx.StepAsync("publish", step => PostAsync("/publish", report, step), StepOptions.IdempotentEffect);

        // Step 12: summarise for the run's result.
        var summary = await model.GetResponseAsync(
            [
                new ChatMessage(ChatRole.System, "Summarise the published report in two sentences."),
                new ChatMessage(ChatRole.User, report),
            ]);
        return $"{summary.Text}\nApproved by {decision.Approver}. {published}";
    }

    [Description("Current weather for a city.")]
    private Task<string> FetchWeatherAsync(string city) => GetAsync("/weather", city);

    [Description("Latest headlines about a topic.")]
    private Task<string> FetchNewsAsync(string topic) => GetAsync("/news", topic);

    [Description("The current price of a stock symbol.")]
    private Task<string> FetchPricesAsync(string symbol) => GetAsync("/prices", symbol);

    private static AIFunction Tool(string name, Delegate method)
        => AIFunctionFactory.Create(method, name.Replace("Async", "", StringComparison.Ordinal)).AsDurable(new DurableToolOptions { Idempotent = true });

    private Task<string> GetAsync(string path, string query)
    {
        var step = DurableAIFunction.CurrentStep ?? throw new InvalidOperationException("Tools run as durable steps.");
        return SendAsync(HttpMethod.Get, $"{path}?q={Uri.EscapeDataString(query)}", null, step);
    }

    private Task<string> PostAsync(string path, string body, StepContext step) => SendAsync(HttpMethod.Post, path, body, step);

    private async Task<string> SendAsync(HttpMethod method, string path, string? body, StepContext step)
    {
        using var request = new HttpRequestMessage(method, options.ToolsUrl.TrimEnd('/') + path);
        request.Headers.Add("Idempotency-Key", step.IdempotencyKey);
        request.Headers.Add("X-Fencing-Token", step.FencingToken.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "text/plain");
        }

        using var response = await http.SendAsync(request, step.CancellationToken);
        response.EnsureSuccessStatusCode();
        var text = await response.Content.ReadAsStringAsync(step.CancellationToken);
        Crash.InsideStep(step.Step);
        return text;
    }

    private async Task<string> WriteFileAsync(string name, string content, StepContext step)
    {
        var folder = Path.Combine(options.OutputFolder, step.RunId.Value);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, name);
        var temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, content, step.CancellationToken);
        File.Move(temporary, path, overwrite: true);
        await File.AppendAllTextAsync(Path.Combine(folder, "effects.log"), $"write {name} {step.IdempotencyKey}\n", step.CancellationToken);
        Crash.InsideStep(step.Step);
        return path;
    }
}
