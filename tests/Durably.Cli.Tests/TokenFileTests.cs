using System.Net;
using System.Net.Http.Headers;
using System.Runtime.Versioning;
using System.Text.Json;

namespace Durably.Cli.Tests;

// The dashboard's token file holds secrets: the tool creates it private to its owner and refuses one others can read.
[UnsupportedOSPlatform("windows")]
public sealed class TokenFileTests(StoreFixture fixture) : IClassFixture<StoreFixture>, IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task TokensAdd_NewFile_CreatesItOwnerOnlyWithTokensServeAccepts()
    {
        var path = _folder.File("tokens.json");

        var first = await Processes.DurablyAsync("tokens", "add", "--token-file", path, "--user", "maria", "--action", "approve", "--action", "reject");
        var modeAfterCreate = File.GetUnixFileMode(path);
        var second = await Processes.DurablyAsync("tokens", "add", "--token-file", path, "--user", "ops-bot", "--action", "signal", "--json");
        var secondToken = JsonDocument.Parse(second.Stdout).RootElement.GetProperty("token").GetString()!;
        await using var server = await Dashboard.StartAsync(_folder, fixture.Copy(_folder), "--token-file", path);
        using var http = server.Client();
        var maria = await SessionAsync(http, first.Stdout.Trim());
        var bot = await SessionAsync(http, secondToken);

        Assert.Equal(0, first.ExitCode);
        Assert.Matches("^[0-9a-f]{48}$", first.Stdout.Trim());
        Assert.Equal(OwnerOnly, modeAfterCreate);
        Assert.Equal(0, second.ExitCode);
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(path));
        Assert.Equal(("maria", "approve,reject"), maria);
        Assert.Equal(("ops-bot", "signal"), bot);
    }

    [Theory]
    [InlineData("0644")]
    [InlineData("0640")]
    [InlineData("0604")]
    [InlineData("0620")]
    [InlineData("0666")]
    public async Task Serve_TokenFileGroupOrOthersCanAccess_Exits4NamingTheFileModeAndFix(string mode)
    {
        var path = _folder.WritePrivate("tokens.json", """{"tokens":[{"token":"0123456789abcdef0123","user":"maria","actions":["approve"]}]}""");
        File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32(mode, 8));

        var serve = await Processes.DurablyAsync("serve", "--store", fixture.Path, "--urls", "http://127.0.0.1:0", "--token-file", path);
        var add = await Processes.DurablyAsync("tokens", "add", "--token-file", path, "--user", "ana");

        foreach (var result in new[] { serve, add })
        {
            Assert.Equal(4, result.ExitCode);
            Assert.Contains($"The token file '{path}' has mode {mode}: group or others can", result.Stderr, StringComparison.Ordinal);
            Assert.Contains($"chmod 600 {path}", result.Stderr, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("Durably dashboard:", serve.Stdout, StringComparison.Ordinal);
        Assert.Single(JsonDocument.Parse(await File.ReadAllTextAsync(path)).RootElement.GetProperty("tokens").EnumerateArray());
    }

    private static async Task<(string? User, string Actions)> SessionAsync(HttpClient http, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/session") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) } };
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var session = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return (session.GetProperty("user").GetString(), string.Join(",", session.GetProperty("actions").EnumerateArray().Select(a => a.GetString())));
    }
}
