using System.Text.Json;
using Durably.Journal;
using Durably.Storage;
using Microsoft.Data.Sqlite;

namespace Durably.Sqlite.Tests;

// What a careless or hostile caller hands the runtime, on a real journal file: run ids that try to reach the file
// system, signal payloads that are not JSON, nest 10,000 levels or weigh 20 MB, and text with NUL characters and lone
// surrogates. Each is refused with a clear error before anything is written, or journaled and replayed exactly;
// the run concerned is never lost.
public sealed class HostileInputTests : IAsyncLifetime
{
    private static readonly RunId Waiting = new("waiting");
    private readonly TempFolder _folder = new();
    private SqliteJournalStore _store = null!;

    public static TheoryData<string> HostileRunIds() =>
    [
        "../escape",
        "..",
        "runs/../../etc/passwd",
        "C:\\Windows\\win.ini",
        "/absolute",
        "nul\0byte",
        "bell\u0007",
        "line\nbreak",
        "esc\u001b[2J",
        "\u202Eevil",
        new string('r', 10_240),
    ];

    public async Task InitializeAsync() => _store = await SqliteJournalStore.OpenAsync(_folder.File("journal.db"));

    [Theory]
    [MemberData(nameof(HostileRunIds))]
    public async Task StartRunAsync_HostileRunId_ThrowsArgumentExceptionAndCreatesNothingOnDisk(string text)
    {
        var before = Listing();
        var client = new DurableClient(_store);

        var constructed = Assert.Throws<ArgumentException>(() => new RunId(text));
        Assert.Throws<ArgumentException>(() => RunId.Parse(text));
        Assert.Throws<ArgumentException>(() => (RunId)text);
        Assert.False(RunId.TryParse(text, out _));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<RunId>(JsonSerializer.Serialize(text)));

        Assert.Contains("A-Z, a-z, 0-9 and - _ . : @", constructed.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', constructed.Message);
        Assert.True(constructed.Message.Length < 400, "The message repeats the whole id.");
        Assert.Empty((await _store.ListRunsAsync(new RunQuery())).Runs);
        Assert.Equal(before, Listing());
    }

    [Fact]
    public async Task StartRunAsync_DefaultRunId_ThrowsArgumentExceptionAndWritesNothing()
    {
        var client = new DurableClient(_store);

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => client.StartAsync("w", 1, new StartRunOptions { RunId = default(RunId) }));

        Assert.Contains("default RunId", ex.Message, StringComparison.Ordinal);
        Assert.Empty((await _store.ListRunsAsync(new RunQuery())).Runs);
    }

    [Fact]
    public async Task SignalAsync_PayloadsThatCannotBeJournaled_ThrowClearErrorsStoreNothingAndTheRunStillFinishes()
    {
        await using var runtime = await StartAsync(r => r.Register<int, string>("wait", async (ctx, _) => (await ctx.WaitForSignalAsync<JsonElement>("data")).GetRawText()));
        var handle = await runtime.Client.StartAsync("wait", 0, new StartRunOptions { RunId = Waiting });
        await WaitForStatusAsync(Waiting, RunStatus.Suspended);
        var deep = new string('[', 10_000) + new string(']', 10_000);
        var deepElement = JsonDocument.Parse(deep, new JsonDocumentOptions { MaxDepth = 20_000 }).RootElement;
        var cycle = new Node();
        cycle.Next = cycle;

        var refused = new List<Exception>
        {
            // Through the client: values its codec cannot encode, and one too large to journal.
            await Assert.ThrowsAsync<ArgumentException>(() => runtime.Client.SignalAsync(Waiting, "data", default(JsonElement))),
            await Assert.ThrowsAsync<ArgumentException>(() => runtime.Client.SignalAsync(Waiting, "data", deepElement)),
            await Assert.ThrowsAsync<ArgumentException>(() => runtime.Client.SignalAsync(Waiting, "data", cycle)),
            await Assert.ThrowsAsync<PayloadTooLargeException>(() => runtime.Client.SignalAsync(Waiting, "data", new string('x', 20 * 1024 * 1024))),
            await Assert.ThrowsAsync<ArgumentException>(() => runtime.Client.SignalAsync(Waiting, "da\uD800ta", 1)),

            // Raw payloads, as another program would deliver them through the store.
            Assert.Throws<ArgumentException>(() => Payload.FromJson("not json")),
            Assert.Throws<ArgumentException>(() => new Payload(Payload.JsonEncoding, [0xFF, 0xFE, 0x00])),
            Assert.Throws<ArgumentException>(() => Payload.FromJson(deep)),
            await Assert.ThrowsAsync<PayloadTooLargeException>(() => _store.DeliverSignalAsync(Waiting, new SignalMessage("data", Payload.FromValue(new string('x', 20 * 1024 * 1024))))),
            await Assert.ThrowsAsync<ArgumentException>(() => _store.DeliverSignalAsync(Waiting, new SignalMessage("da\u0000ta", null))),
        };

        Assert.All(refused, ex => Assert.True(ex.Message.Length is > 40 and < 1000, $"Not a clear message: {ex.Message}"));
        Assert.Contains("undefined JsonElement", refused[0].Message, StringComparison.Ordinal);
        Assert.Contains("levels deep", refused[1].Message, StringComparison.Ordinal);
        Assert.Contains("cycle", refused[2].Message, StringComparison.Ordinal);
        Assert.Contains("nests deeper than 128 levels", refused[7].Message, StringComparison.Ordinal);
        Assert.Empty(await _store.ReadSignalsAsync(Waiting));

        // The run was not harmed: a good signal still finishes it.
        await runtime.Client.SignalAsync(Waiting, "data", new { ok = true });
        Assert.Equal("""{"ok":true}""", await handle.GetResultAsync<string>(Timeout()));
    }

    [Fact]
    public async Task Run_NulCharactersAndOddTextEverywhere_RoundTripExactlyAcrossARestart()
    {
        const string Odd = "a\0b\0\0c \u0001\u001f\u007f \uFFFE\uFFFF \U0001F600 \uD83D\uDE00 end\0";
        var bodies = 0;
        void Register(DurableRuntime runtime) => runtime.Register<string, string>("odd", async (ctx, input) =>
        {
            var echoed = await ctx.StepAsync("echo\0step", _ =>
            {
                Interlocked.Increment(ref bodies);
                return Task.FromResult(input + "|" + Odd);
            }, StepOptions.IdempotentEffect);
            string failure;
            try
            {
                await ctx.StepAsync<int>("fail", _ => throw new InvalidOperationException("bad\0news \uD800 here"));
                failure = "none";
            }
            catch (StepFailedException ex)
            {
                failure = ex.ErrorMessage;
            }

            var signal = await ctx.WaitForSignalAsync<string>("more");
            return string.Join("|", echoed, failure, signal);
        });

        var first = await StartAsync(Register);
        await first.Client.StartAsync("odd", Odd, new StartRunOptions { RunId = Waiting });
        await WaitForStatusAsync(Waiting, RunStatus.Suspended);
        await first.DisposeAsync();
        await _store.DisposeAsync();

        // A new process: the journal is read back from the file and replayed.
        _store = await SqliteJournalStore.OpenAsync(_folder.File("journal.db"));
        await using var second = await StartAsync(Register);
        await second.Client.SignalAsync(Waiting, "more", Odd);
        var result = await second.Client.GetResultAsync<string>(Waiting, Timeout());

        // The error message's lone surrogate became U+FFFD, the same live and on replay; everything else is exact.
        Assert.Equal(string.Join("|", Odd + "|" + Odd, "bad\0news \uFFFD here", Odd), result);
        Assert.Equal(1, bodies);
        Assert.Equal(Odd, ((RunStarted)(await _store.ReadAsync(Waiting))[0]).Input!.ToValue<string>());
    }

    [Fact]
    public async Task Run_LoneSurrogateInResultOrName_FailsTheRunWithAClearErrorAndLosesNothing()
    {
        var bodies = 0;
        await using var runtime = await StartAsync(r =>
        {
            r.Register<int, string>("result", (ctx, _) => ctx.StepAsync("lone", _ =>
            {
                Interlocked.Increment(ref bodies);
                return Task.FromResult("half \uD83D of a pair");
            }));
            r.Register<int, string>("name", (ctx, _) => ctx.StepAsync("step \uDC00", _ => Task.FromResult("never")));
            Assert.Throws<ArgumentException>(() => r.Register<int, int>("work\uD800flow", (_, i) => Task.FromResult(i)));
        });

        foreach (var workflow in new[] { "result", "name" })
        {
            var runId = new RunId("lone-" + workflow);
            await runtime.Client.StartAsync(workflow, 0, new StartRunOptions { RunId = runId });

            var failed = await Assert.ThrowsAsync<RunFailedException>(() => runtime.Client.GetResultAsync<string>(runId, Timeout()));

            Assert.Contains("lone surrogate", failed.Message, StringComparison.Ordinal);
            Assert.Equal(RunStatus.Failed, (await _store.GetRunAsync(runId))!.Status);
        }

        Assert.Equal(1, bodies);
        await Assert.ThrowsAsync<ArgumentException>(() => runtime.Client.StartAsync("work\uD800flow", 0));
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        SqliteConnection.ClearAllPools();
        _folder.Dispose();
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token;

    private async Task<DurableRuntime> StartAsync(Action<DurableRuntime> register)
    {
        var runtime = new DurableRuntime(_store, new DurableRuntimeOptions { WorkerId = "hostile-input", PollInterval = TimeSpan.FromMilliseconds(50), DefaultRetry = RetryPolicy.None });
        register(runtime);
        await runtime.StartAsync();
        return runtime;
    }

    private async Task WaitForStatusAsync(RunId runId, RunStatus status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await _store.GetRunAsync(runId))?.Status != status)
        {
            Assert.True(DateTime.UtcNow < deadline, $"Run {runId} never became {status}.");
            await Task.Delay(20);
        }
    }

    // Every file and folder beside the journal, and in the working directory: a run id must never become a path.
    private List<string> Listing()
        => [.. Directory.EnumerateFileSystemEntries(_folder.Path, "*", SearchOption.AllDirectories).Concat(Directory.EnumerateFileSystemEntries(Environment.CurrentDirectory)).Order(StringComparer.Ordinal)];

    private sealed class Node
    {
        public Node? Next { get; set; }
    }
}
