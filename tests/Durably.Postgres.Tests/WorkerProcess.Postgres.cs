using System.Globalization;

namespace Durably.Postgres.Tests;

internal sealed partial class WorkerProcess
{
    // Starts a `pg-worker` on the test's schema and returns once it has started its runtime. With a child ledger, it also
    // executes ChildWorkflows runs, whose effects append to that file.
    public static Task<WorkerProcess> StartAsync(string schema, string name, TimeSpan lease, string? childLedger = null)
        => StartAsync("pg-worker", schema, name, lease, childLedger);

    // Starts a worker of another TestHost command that takes the same arguments (pg-queue-worker).
    public static Task<WorkerProcess> StartAsync(string command, string schema, string name, TimeSpan lease, string? childLedger = null)
    {
        List<string> args = [command, TestDatabase.ConnectionString, schema, name, ((int)lease.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)];
        if (childLedger is not null)
        {
            args.Add(childLedger);
        }

        return StartAsync(name, args);
    }
}
