using Durably.AI;
using Durably.Journal;
using Microsoft.Extensions.AI;
using ModelContextProtocol.Client;

namespace Durably.Agents.Tests;

// MCP tools listed from a real stdio server (the test host's `mcp-server`, a child process) made durable.
public sealed class DurableMcpToolTests : IAsyncLifetime
{
    private readonly SqliteRuns _runs = new();
    private McpClient? _client;

    private string Log => _runs.Path + ".server.log";

    private McpClient Client => _client!;

    public async Task InitializeAsync()
    {
        _client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "tickets",
            Command = "dotnet",
            Arguments = [Path.Combine(AppContext.BaseDirectory, "Durably.Agents.TestHost.dll"), "mcp-server", Log],
        }));
    }

    public async Task DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        await _runs.DisposeAsync();
    }

    [Fact]
    public async Task AsDurable_ToolsListedFromAServer_TakeTheirPolicyFromTheServersAnnotations()
    {
        var tools = (await Client.ListToolsAsync()).AsDurable().Cast<DurableAIFunction>().ToDictionary(t => t.Name);

        Assert.Equal((StepKind.Compute, (bool?)null), (tools["get_weather"].Options.Kind, tools["get_weather"].Options.Idempotent)); // readOnlyHint
        Assert.Equal((StepKind.Effect, (bool?)true), (tools["create_ticket"].Options.Kind, tools["create_ticket"].Options.Idempotent)); // idempotentHint
        Assert.Equal((StepKind.Effect, (bool?)null), (tools["send_email"].Options.Kind, tools["send_email"].Options.Idempotent)); // in doubt: ask a person
        Assert.Equal("tool:create_ticket", tools["create_ticket"].StepName);
    }

    [Fact]
    public async Task AsDurable_ToolOptionsGiven_OverrideTheAnnotations()
    {
        var listed = await Client.ListToolsAsync();

        var tool = listed.Single(t => t.Name == "send_email").AsDurable(new DurableMcpToolOptions { ToolOptions = t => new DurableToolOptions { InDoubt = InDoubtPolicy.Fail, StepName = "email" } });

        Assert.Equal((InDoubtPolicy?)InDoubtPolicy.Fail, tool.Options.InDoubt);
        Assert.Equal("email", tool.StepName);
    }

    [Fact]
    public async Task InvokeAsync_InsideARun_IsAJournaledStepThatSendsTheIdempotencyKeyAndFencingTokenInMeta()
    {
        var ticket = (await Client.ListToolsAsync()).Single(t => t.Name == "create_ticket").AsDurable();
        var runtime = await _runs.StartAsync(r => r.Register<string, string>("mcp", async (ctx, title) =>
            ((System.Text.Json.JsonElement)(await ticket.InvokeAsync(new AIFunctionArguments { ["title"] = title }))!).GetString()!));

        var result = await (await runtime.Client.StartAsync("mcp", "Printer on fire", new StartRunOptions { RunId = new RunId("meta") })).GetResultAsync<string>();

        Assert.Equal("ticket T-101 opened: Printer on fire", result);
        var call = Assert.Single(ServerCall.Read(Log, "meta"));
        Assert.Equal(("executed", "meta:1"), (call.Outcome, call.Key));
        Assert.True(call.FencingToken > 0);
        var step = Assert.Single((await _runs.Store.ReadAsync(new RunId("meta"))).OfType<StepStarted>());
        Assert.Equal((StepKind.Effect, "tool:create_ticket"), (step.Kind, step.Name));
    }

    [Fact]
    public async Task InvokeAsync_IdempotencyKeyArgumentNamed_SendsTheKeyAsThatArgumentToToolsThatDeclareIt()
    {
        var options = new DurableMcpToolOptions { IdempotencyKeyMeta = null, FencingTokenMeta = null, IdempotencyKeyArgument = "idempotency_key" };
        var refund = (await Client.ListToolsAsync()).Single(t => t.Name == "issue_refund").AsDurable(options);
        var runtime = await _runs.StartAsync(r => r.Register<string, string>("refund", async (ctx, order) =>
            ((System.Text.Json.JsonElement)(await refund.InvokeAsync(new AIFunctionArguments { ["order"] = order }))!).GetString()!));

        await (await runtime.Client.StartAsync("refund", "A-17", new StartRunOptions { RunId = new RunId("arg") })).GetResultAsync<string>();

        var call = Assert.Single(ServerCall.Read(Log, "arg"));
        Assert.Equal(("issue_refund", "arg:1", "A-17", -1L), (call.Tool, call.Key, call.Arguments, call.FencingToken));
    }

    [Fact]
    public async Task InvokeAsync_OutsideARun_CallsTheServerWithoutAKey()
    {
        var ticket = (await Client.ListToolsAsync()).Single(t => t.Name == "create_ticket").AsDurable();

        var result = await ticket.InvokeAsync(new AIFunctionArguments { ["title"] = "No run" });

        Assert.Equal("ticket T-101 opened: No run", Assert.IsType<string>(result));
        Assert.Contains("executed\tcreate_ticket\t-\t", File.ReadAllText(Log), StringComparison.Ordinal);
    }
}
