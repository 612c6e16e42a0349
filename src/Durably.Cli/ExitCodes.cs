namespace Durably.Cli;

// The process exit codes of every command, documented in the root help (see Help).
internal static class ExitCodes
{
    public const int Ok = 0;

    // A failure that none of the codes below describes, for example an I/O error in the store.
    public const int Failed = 1;

    // Unknown command or option, missing argument or option, options that exclude each other.
    public const int Usage = 2;

    // No run with that id in the store, or no such step in the run.
    public const int NotFound = 3;

    // A value that cannot be used: malformed JSON, an invalid run id, status or duration, a token file others can read.
    public const int BadInput = 4;

    // The store does not exist: no SQLite file, or a PostgreSQL schema without Durably tables (durably never creates one).
    public const int StoreMissing = 5;

    // The store or a journal is damaged: verify found problems, or the data cannot be read.
    public const int Damaged = 6;

    // Another process holds the store locked for longer than --busy-timeout.
    public const int Locked = 7;

    // The run is not in a state that allows the request: it has finished, it waits elsewhere, the step is not in doubt, the new id exists.
    public const int Conflict = 8;

    // Interrupted (Ctrl+C) before the command finished.
    public const int Interrupted = 130;

    public const string Table = """
        Exit codes:
          0    success
          1    unexpected failure (for example an I/O error in the store)
          2    usage: unknown command or option, missing argument
          3    not found: no such run (or step) in the store
          4    bad input: malformed JSON, invalid run id, status or duration, a token file others can read
          5    store missing: no SQLite file, or no Durably schema in PostgreSQL (durably never creates a store)
          6    damaged: 'journal verify' found problems, or the store cannot be read
          7    locked: another process held the store locked longer than --busy-timeout
          8    conflict: the run has finished, waits at another gate, the step is not in doubt, or the new id exists
          130  interrupted
        """;
}
