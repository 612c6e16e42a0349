using Durably.Sqlite;
using Durably.Storage;

namespace Durably.Agents.Tests;

// Runtimes over one real SQLite file, started one after the other as successive processes would be.
internal sealed class SqliteRuns : IAsyncDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("durably-agents-").FullName;
    private IJournalStore? _store;
    private DurableRuntime? _runtime;

    public string Path => System.IO.Path.Combine(_folder, "journal.db");

    public IJournalStore Store => _store ?? throw new InvalidOperationException("No runtime is started.");

    public DurableRuntime Runtime => _runtime ?? throw new InvalidOperationException("No runtime is started.");

    // Stops the current runtime (if any), reopens the file and starts a runtime with the given workflows.
    public async Task<DurableRuntime> StartAsync(Action<DurableRuntime> register)
    {
        await StopAsync();
        _store = await SqliteJournalStore.OpenAsync(Path);
        _runtime = new DurableRuntime(_store, new DurableRuntimeOptions { PollInterval = TimeSpan.FromMilliseconds(50), DefaultRetry = RetryPolicy.None });
        register(_runtime);
        await _runtime.StartAsync();
        return _runtime;
    }

    public async Task WaitForGateAsync(RunId runId, string gate)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var run = await Store.GetRunAsync(runId);
            if (run is { Status: RunStatus.Suspended } && run.StatusDetail?.Contains("approval:" + gate, StringComparison.Ordinal) == true)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"run {runId} did not wait at gate '{gate}': it is {run?.Status} ({run?.StatusDetail})");
            await Task.Delay(20);
        }
    }

    public async Task StopAsync()
    {
        if (_runtime is not null)
        {
            await _runtime.DisposeAsync();
            _runtime = null;
        }

        if (_store is not null)
        {
            await _store.DisposeAsync();
            _store = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
