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
            throw new CliException(ExitCodes.BadInput, $"The token file '{Path.GetFullPath(path)}' does not exist. Create it as {{\"tokens\":[{{\"token\":\"<random secret>\",\"user\":\"maria\",\"actions\":[\"approve\",\"reject\"]}}]}}.");
        }

        TokenFileJson? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<TokenFileJson>(File.ReadAllBytes(path), CliJson.Compact);
        }
        catch (JsonException ex)
        {
            throw new CliException(ExitCodes.BadInput, $"The token file '{path}' is not valid JSON ({ex.Message}). Expected {{\"tokens\":[{{\"token\":\"...\",\"user\":\"...\",\"actions\":[...]}}]}}.");
        }

        var grants = new List<(byte[], DashboardGrant)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (entry, index) in (parsed?.Tokens ?? []).Select((t, i) => (t, i + 1)))
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

        if (grants.Count == 0)
        {
            throw new CliException(ExitCodes.BadInput, $"The token file '{path}' holds no tokens. Add at least one: {{\"tokens\":[{{\"token\":\"...\",\"user\":\"...\",\"actions\":[\"approve\"]}}]}}.");
        }

        return new TokenFile(grants);
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

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private sealed record TokenFileJson(List<TokenJson>? Tokens);

    private sealed record TokenJson(string? Token, string? User, List<string>? Actions);
}

// What a token lets its holder do; every valid token may read.
internal sealed record DashboardGrant(string User, IReadOnlySet<string> Actions)
{
    public bool Allows(string action) => Actions.Contains("*") || Actions.Contains(action);
}
