using Durably;
using Durably.AI;
using Durably.Testing;
using Microsoft.Extensions.AI;

namespace OpenTelemetryHost;

// A one-question agent: the model asks for the get_weather tool, then answers. Three steps, each one span:
// 'chat gpt-4o-mini', 'execute_tool get_weather', 'chat gpt-4o-mini'.
public static class WeatherAgent
{
    public const string Name = "weather-agent";

    public const string RequestModel = "gpt-4o-mini";

    // An offline stand-in for a model provider. When crashAtTurn is set, the process kills itself (SIGKILL) as that model
    // call begins: the earlier model call and the tool call are durable by then, this one is not.
    public static ScriptedChatClient Model(int? crashAtTurn = null) => new(call =>
    {
        if (call.Turn == crashAtTurn)
        {
            System.Diagnostics.Process.GetCurrentProcess().Kill();
        }

        var city = call.Messages[0].Text.Split(' ')[^1].TrimEnd('?');
        return call.Turn == 0
            ? ScriptedChatClient.CallTools(new FunctionCallContent("call-1", "get_weather", new Dictionary<string, object?> { ["city"] = city }))
            : ScriptedChatClient.Reply($"It is {call.Messages[^1].Contents.OfType<FunctionResultContent>().Single().Result} in {city}.");
    })
    { ModelId = "gpt-4o-mini-2024-07-18" };

    public static Func<RunContext, string, Task<string>> Workflow(IChatClient model, Func<string, string> weather)
    {
        var chat = new ChatClientBuilder(model).UseFunctionInvocation().UseDurably().Build();
        var tool = AIFunctionFactory.Create(weather, "get_weather", "Returns the weather in a city.").AsDurable(new DurableToolOptions { Idempotent = true });
        var options = new ChatOptions { ModelId = RequestModel, Tools = [tool] };
        return async (ctx, city) =>
        {
            var response = await chat.GetResponseAsync([new ChatMessage(ChatRole.User, $"What is the weather in {city}?")], options);
            return response.Text;
        };
    }
}
