using System.ClientModel;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using OpenAI;

namespace Durably.AI.Tests;

// What the fake server answers: text and/or tool calls, with usage.
internal sealed record FakeCompletion(string? Text = null, IReadOnlyList<FakeToolCall>? ToolCalls = null, int PromptTokens = 10, int CompletionTokens = 5);

internal sealed record FakeToolCall(string Id, string Name, string Arguments);

// A request the fake server received: its position and its JSON body.
internal sealed record FakeRequest(int Index, JsonElement Body)
{
    // The number of assistant messages in the request: the conversation's turn, the same after a restart.
    public int Turn => Body.GetProperty("messages").EnumerateArray().Count(m => m.GetProperty("role").GetString() == "assistant");

    public bool Streaming => Body.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True;
}

// An OpenAI-compatible /v1/chat/completions endpoint on 127.0.0.1 (a free port), answering from a script, with tool
// calls, usage and SSE streaming, so tests run the real OpenAI client's serialization against it.
internal sealed class FakeOpenAIServer : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly Func<FakeRequest, FakeCompletion> _respond;
    private readonly List<string> _requests = [];
    private readonly Task _loop;

    public FakeOpenAIServer(Func<FakeRequest, FakeCompletion> respond)
    {
        _respond = respond;
        (_listener, Endpoint) = Listen();
        _loop = Task.Run(AcceptAsync);
    }

    public Uri Endpoint { get; }

    public IReadOnlyList<string> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    public IChatClient CreateClient(string model = "fake-model")
        => new OpenAI.Chat.ChatClient(model, new ApiKeyCredential("test-key"), new OpenAIClientOptions { Endpoint = Endpoint }).AsIChatClient();

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }

    private static (HttpListener, Uri) Listen()
    {
        for (var attempt = 0; ; attempt++)
        {
            // Ask the OS for a free port, then listen on it; another process may take it in between, so try again.
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                return (listener, new Uri($"http://127.0.0.1:{port}/v1"));
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            if (context.Request.HttpMethod != "POST" || context.Request.Url?.AbsolutePath != "/v1/chat/completions")
            {
                response.StatusCode = 404;
                return;
            }

            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            int index;
            lock (_requests)
            {
                index = _requests.Count;
                _requests.Add(body);
            }

            var request = new FakeRequest(index, JsonDocument.Parse(body).RootElement.Clone());
            var completion = _respond(request);
            var model = request.Body.GetProperty("model").GetString()!;
            var id = $"chatcmpl-{index}";
            if (request.Streaming)
            {
                response.ContentType = "text/event-stream";
                response.SendChunked = true;
                foreach (var chunk in Chunks(completion, id, model))
                {
                    await response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes($"data: {chunk}\n\n"));
                    await response.OutputStream.FlushAsync();
                }

                await response.OutputStream.WriteAsync("data: [DONE]\n\n"u8.ToArray());
            }
            else
            {
                response.ContentType = "application/json";
                await response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(Completion(completion, id, model)));
            }
        }
        catch (Exception ex)
        {
            response.StatusCode = 500;
            await response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(ex.ToString()));
        }
        finally
        {
            response.Close();
        }
    }

    private static string Finish(FakeCompletion completion) => completion.ToolCalls is { Count: > 0 } ? "tool_calls" : "stop";

    private static JsonObject Usage(FakeCompletion completion) => new()
    {
        ["prompt_tokens"] = completion.PromptTokens,
        ["completion_tokens"] = completion.CompletionTokens,
        ["total_tokens"] = completion.PromptTokens + completion.CompletionTokens,
    };

    private static string Completion(FakeCompletion completion, string id, string model)
    {
        var message = new JsonObject { ["role"] = "assistant", ["content"] = completion.Text, ["refusal"] = null };
        if (completion.ToolCalls is { Count: > 0 } calls)
        {
            message["tool_calls"] = new JsonArray([.. calls.Select(c => (JsonNode)new JsonObject
            {
                ["id"] = c.Id,
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments },
            })]);
        }

        return new JsonObject
        {
            ["id"] = id,
            ["object"] = "chat.completion",
            ["created"] = 1_767_225_600,
            ["model"] = model,
            ["system_fingerprint"] = "fp_fake",
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["logprobs"] = null, ["finish_reason"] = Finish(completion) }),
            ["usage"] = Usage(completion),
        }.ToJsonString();
    }

    private static IEnumerable<string> Chunks(FakeCompletion completion, string id, string model)
    {
        JsonObject Chunk(JsonObject? delta, string? finish = null, JsonObject? usage = null) => new()
        {
            ["id"] = id,
            ["object"] = "chat.completion.chunk",
            ["created"] = 1_767_225_600,
            ["model"] = model,
            ["system_fingerprint"] = "fp_fake",
            ["choices"] = delta is null ? new JsonArray() : new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish }),
            ["usage"] = usage,
        };

        yield return Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }).ToJsonString();
        var text = completion.Text ?? "";
        for (var start = 0; start < text.Length; start += 8)
        {
            yield return Chunk(new JsonObject { ["content"] = text.Substring(start, Math.Min(8, text.Length - start)) }).ToJsonString();
        }

        var calls = completion.ToolCalls ?? [];
        for (var i = 0; i < calls.Count; i++)
        {
            // The name first, then the arguments in two pieces, as real servers stream them.
            var half = calls[i].Arguments.Length / 2;
            yield return Chunk(new JsonObject { ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = i, ["id"] = calls[i].Id, ["type"] = "function", ["function"] = new JsonObject { ["name"] = calls[i].Name, ["arguments"] = "" } }) }).ToJsonString();
            yield return Chunk(new JsonObject { ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = i, ["function"] = new JsonObject { ["arguments"] = calls[i].Arguments[..half] } }) }).ToJsonString();
            yield return Chunk(new JsonObject { ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = i, ["function"] = new JsonObject { ["arguments"] = calls[i].Arguments[half..] } }) }).ToJsonString();
        }

        yield return Chunk(new JsonObject(), Finish(completion)).ToJsonString();
        yield return Chunk(null, usage: Usage(completion)).ToJsonString();
    }
}
