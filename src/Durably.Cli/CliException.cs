namespace Durably.Cli;

// A failure the user can act on: its message says what was wrong and what to do; it carries the exit code.
internal sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
