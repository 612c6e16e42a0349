namespace Durably.Templates.Tests;

// dotnet new durably-agent, from the template folder in a hive of its own (the user's templates are not touched),
// built and tested against the packages just packed (a nuget.config in the generated folder puts them first).
[Collection(PackedPackagesCollection.Name)]
public sealed class TemplateTests(PackedPackages packages) : IDisposable
{
    private static readonly TimeSpan Step = TimeSpan.FromMinutes(5);
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durably-template-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task DotnetNewDurablyAgent_AgainstTheLocalPackages_BuildsPassesItsCrashTestAndRuns()
    {
        Assert.True(packages.ExitCode == 0, packages.Output);
        var hive = Path.Combine(_folder, "hive");
        var app = Path.Combine(_folder, "SupportAgent");
        Directory.CreateDirectory(_folder);
        var template = Path.Combine(Dotnet.RepositoryRoot, "templates", "Durably.Templates", "content", "DurablyAgent");

        var install = await Dotnet.RunAsync(_folder, Step, "new", "install", template, "--debug:custom-hive", hive);
        Assert.True(install.ExitCode == 0, install.Output);
        var created = await Dotnet.RunAsync(_folder, Step, "new", "durably-agent", "-o", app, "--DurablyVersion", packages.Version, "--debug:custom-hive", hive);
        Assert.True(created.ExitCode == 0, created.Output);
        Assert.True(File.Exists(Path.Combine(app, "SupportAgent", "SupportAgent.csproj")), created.Output);
        Assert.True(File.Exists(Path.Combine(app, "SupportAgent.Tests", "SupportAgent.Tests.csproj")), created.Output);
        Assert.Contains(packages.Version, File.ReadAllText(Path.Combine(app, "SupportAgent", "SupportAgent.csproj")), StringComparison.Ordinal);

        packages.WriteNuGetConfig(app);

        var test = await Dotnet.RunAsync(app, Step, "test", "SupportAgent.Tests");
        Assert.True(test.ExitCode == 0, test.Output);
        Assert.Matches(@"Passed!\s+-\s+Failed:\s+0, Passed:\s+1", test.Output);

        var run = await Dotnet.RunAsync(Path.Combine(app, "SupportAgent"), Step, Path.Combine("bin", "Debug", "net10.0", "SupportAgent.dll"), "my", "invoice", "is", "wrong");
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("notify [ticket-", run.Output, StringComparison.Ordinal);
        Assert.Contains(": billing", run.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(app, "SupportAgent", "agent.db")), run.Output);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
