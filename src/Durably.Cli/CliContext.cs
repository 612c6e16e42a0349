using System.CommandLine;
using System.Text.Json;
using Durably.Storage;

namespace Durably.Cli;

// What a command's action gets: the parsed command line, the output writers and the store options shared by every command.
internal sealed class CliContext(ParseResult parse)
{
    public ParseResult Parse { get; } = parse;

    public TextWriter Out { get; } = parse.InvocationConfiguration.Output;

    public TextWriter Error { get; } = parse.InvocationConfiguration.Error;

    public bool Json => Parse.GetValue(GlobalOptions.Json);

    public T? Get<T>(Option<T> option) => Parse.GetValue(option);

    public T? Get<T>(Argument<T> argument) => Parse.GetValue(argument);

    public Task<IJournalStore> OpenStoreAsync(CancellationToken cancellationToken)
    {
        var seconds = Parse.GetValue(GlobalOptions.BusyTimeout);
        if (seconds < 1)
        {
            throw new CliException(ExitCodes.BadInput, $"--busy-timeout is {seconds}; give a number of seconds of 1 or more.");
        }

        return StoreOpener.OpenAsync(Parse.GetValue(GlobalOptions.Store), Parse.GetValue(GlobalOptions.Schema)!, TimeSpan.FromSeconds(seconds), cancellationToken);
    }

    public void WriteJson<T>(T value)
    {
        Out.WriteLine(JsonSerializer.Serialize(value, CliJson.Options));
    }

    public void Note(string message)
    {
        if (!Json)
        {
            Error.WriteLine(message);
        }
    }
}
