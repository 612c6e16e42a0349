using System.CommandLine;
using Durably.Cli.Dashboard;

namespace Durably.Cli.Commands;

// durably tokens add: bearer tokens for `durably serve --token-file`.
internal static class TokensCommands
{
    public static Command Build()
    {
        var tokens = new Command("tokens", "Manage the dashboard's bearer tokens (the file given to 'serve --token-file').");
        tokens.Add(BuildAdd());
        return tokens;
    }

    private static Command BuildAdd()
    {
        var file = new Option<string>("--token-file") { Description = "The token file; created (mode 0600) when it does not exist.", HelpName = "FILE", Required = true };
        var user = new Option<string>("--user") { Description = "The name recorded in the journal as the sender of what the token's holder decides.", HelpName = "NAME", Required = true };
        var actions = new Option<string[]>("--action") { Description = $"A change the token allows: {string.Join(", ", TokenFile.Actions)}, or * for all. Repeat for several; none makes a read-only token.", HelpName = "ACTION" };
        var command = new Command("add", """
            Add a new random token for a user to the token file and print it (on stdout; it is not shown again).
            A new file is created readable and writable by its owner only (mode 0600); an existing file must already be
            private, and keeps that mode.
            """) { file, user, actions };
        DurablyCommandLine.SetHandler(command, (context, _) =>
        {
            var path = context.Get(file)!;
            var name = context.Get(user)!.Trim();
            var allowed = (context.Get(actions) ?? []).Select(a => a.Trim().ToLowerInvariant()).Distinct(StringComparer.Ordinal).ToList();
            if (allowed.FirstOrDefault(a => a != "*" && !TokenFile.Actions.Contains(a)) is { } unknown)
            {
                throw new CliException(ExitCodes.BadInput, $"--action '{unknown}' is not an action. Give {string.Join(", ", TokenFile.Actions)}, or * for all.");
            }

            if (name.Length == 0)
            {
                throw new CliException(ExitCodes.BadInput, "--user is empty; give the name to record with the token's decisions.");
            }

            var token = TokenFile.Add(path, name, allowed);
            if (context.Json)
            {
                context.WriteJson(new { file = Path.GetFullPath(path), user = name, actions = allowed, token });
            }
            else
            {
                context.Note($"Added a token for {name} ({(allowed.Count == 0 ? "read only" : string.Join(", ", allowed))}) to {Path.GetFullPath(path)}:");
                context.Out.WriteLine(token);
            }

            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}
