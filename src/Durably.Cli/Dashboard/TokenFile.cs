using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Durably.Cli.Dashboard;

// The dashboard's static bearer tokens, each mapped to a user name and the changes it may make.
// File format: {"tokens":[{"token":"...","user":"maria","actions":["approve","reject"]}]}
internal sealed class TokenFile
{
    public static readonly IReadOnlyList<string> Actions = ["approve", "reject", "signal", "resolve"];

    private const int MinTokenLength = 16;
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Shared = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
    private readonly List<(byte[] Hash, DashboardGrant Grant)> _grants;

    private TokenFile(List<(byte[] Hash, DashboardGrant Grant)> grants)
    {
        _grants = grants;
    }

    public static TokenFile None { get; } = new([]);

    public int Count => _grants.Count;

    public static TokenFile Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new CliException(ExitCodes.BadInput, $"The token file '{Path.GetFullPath(path)}' does not exist. Create it with 'durably tokens add --token-file {path} --user <name> --action approve', or write it as {{\"tokens\":[{{\"token\":\"<random secret>\",\"user\":\"maria\",\"actions\":[\"approve\",\"reject\"]}}]}} and 'chmod 600' it.");
        }

        var grants = Validate(Read(path).Tokens ?? [], path);
        if (grants.Count == 0)
        {
            throw new CliException(ExitCodes.BadInput, $"The token file '{path}' holds no tokens. Add one with 'durably tokens add --token-file {path} --user <name> --action approve', or write {{\"tokens\":[{{\"token\":\"...\",\"user\":\"...\",\"actions\":[\"approve\"]}}]}}.");
        }

        return new TokenFile(grants);
    }

    // Adds a new random token for the user and returns it. A new file is created readable and writable by its owner only
    // (0600) from the start; an existing one is replaced by such a file, so the secrets are never readable by others.
    public static string Add(string path, string user, IReadOnlyCollection<string> actions)
    {
        var existing = File.Exists(path) ? Read(path).Tokens ?? [] : [];
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        List<TokenJson> tokens = [.. existing, new TokenJson(token, user, [.. actions])];
        Validate(tokens, path);

        var full = Path.GetFullPath(path);
        var temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }

        try
        {
            using (var file = new FileStream(temporary, options))
            {
                file.Write(JsonSerializer.SerializeToUtf8Bytes(new TokenFileJson(tokens), CliJson.Options));
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }

            throw;
        }

        return token;
    }

    // Compares hashes in fixed time, so response timing does not reveal how much of a guess was right.
    public DashboardGrant? Find(string token)
    {
        var hash = Hash(token);
        DashboardGrant? found = null;
        foreach (var (candidate, grant) in _grants)
        {
            if (CryptographicOperations.FixedTimeEquals(candidate, hash))
            {
                found = grant;
            }
        }

        return found;
    }

    private static TokenFileJson Read(string path)
    {
        RefuseIfShared(path);
        try
        {
            return JsonSerializer.Deserialize<TokenFileJson>(File.ReadAllBytes(path), CliJson.Compact) ?? new TokenFileJson([]);
        }
        catch (JsonException ex)
        {
            throw new CliException(ExitCodes.BadInput, $"The token file '{path}' is not valid JSON ({ex.Message}). Expected {{\"tokens\":[{{\"token\":\"...\",\"user\":\"...\",\"actions\":[...]}}]}}.");
        }
    }

    // The tokens are secrets that grant changes: a file that group or others can read (and copy the tokens) or write
    // (and add their own) is refused, not used.
    private static void RefuseIfShared(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var mode = File.GetUnixFileMode(path);
        if ((mode & Shared) != 0)
        {
            var fix = path.Any(c => char.IsWhiteSpace(c) || c is '\'' or '"' or '$' or '`' or '\\') ? $"'{path.Replace("'", "'\\''", StringComparison.Ordinal)}'" : path;
            throw new CliException(ExitCodes.BadInput, $"The token file '{Path.GetFullPath(path)}' has mode {Convert.ToString((int)mode, 8).PadLeft(4, '0')}: group or others can {((mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0 ? "read or change" : "read")} its tokens. Make it private with 'chmod 600 {fix}' and start again.");
        }
    }

    private static List<(byte[], DashboardGrant)> Validate(IReadOnlyList<TokenJson> tokens, string path)
    {
        var grants = new List<(byte[], DashboardGrant)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (entry, index) in tokens.Select((t, i) => (t, i + 1)))
        {
            string Where() => $"Token {index} in '{path}'";
            if (string.IsNullOrWhiteSpace(entry.Token) || entry.Token.Length < MinTokenLength)
            {
                throw new CliException(ExitCodes.BadInput, $"{Where()} is shorter than {MinTokenLength} characters. Use a long random secret, for example from 'openssl rand -hex 24'.");
            }

            if (!seen.Add(entry.Token))
            {
                throw new CliException(ExitCodes.BadInput, $"{Where()} repeats an earlier token; each token must map to one user.");
            }

            if (string.IsNullOrWhiteSpace(entry.User))
            {
                throw new CliException(ExitCodes.BadInput, $"{Where()} has no \"user\": give the name recorded in the journal with the decisions made with it.");
            }

            var actions = (entry.Actions ?? []).Select(a => a.Trim().ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);
            var unknown = actions.Where(a => a != "*" && !Actions.Contains(a)).ToList();
            if (unknown.Count > 0)
            {
                throw new CliException(ExitCodes.BadInput, $"{Where()} allows unknown action(s) {string.Join(", ", unknown.Select(a => $"'{a}'"))}. Allowed: {string.Join(", ", Actions)}, or \"*\" for all.");
            }

            grants.Add((Hash(entry.Token), new DashboardGrant(entry.User.Trim(), actions)));
        }

        return grants;
    }

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private sealed record TokenFileJson(List<TokenJson>? Tokens);

    private sealed record TokenJson(string? Token, string? User, List<string>? Actions);
}

// What a token lets its holder do; every valid token may read.
internal sealed record DashboardGrant(string User, IReadOnlySet<string> Actions)
{
    public bool Allows(string action) => Actions.Contains("*") || Actions.Contains(action);
}
