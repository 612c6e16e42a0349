namespace Durably.Templates.Tests;

// samples/AotAgent compiled with native AOT against the packages just packed, as an application would consume them: the
// publish must not warn (a trimming or AOT warning from Durably would show here), and the native executable must run a
// workflow over a real SQLite file, twice, the second run finding the first in the journal.
[Collection(PackedPackagesCollection.Name)]
public sealed class NativeAotTests(PackedPackages packages) : IDisposable
{
    private static readonly TimeSpan Step = TimeSpan.FromMinutes(8);
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "durably-aot-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task AotAgentSample_PublishedNativelyFromThePackages_PublishesWithoutWarningsAndJournalsRunsThatOutliveTheProcess()
    {
        Assert.True(packages.ExitCode == 0, packages.Output);
        var app = Path.Combine(_folder, "AotAgent");
        Directory.CreateDirectory(app);
        File.Copy(Path.Combine(Dotnet.RepositoryRoot, "samples", "AotAgent", "Program.cs"), Path.Combine(app, "Program.cs"));
        File.WriteAllText(Path.Combine(app, "AotAgent.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <PublishAot>true</PublishAot>
                <InvariantGlobalization>true</InvariantGlobalization>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Durably.Sqlite" Version="{packages.Version}" />
              </ItemGroup>
            </Project>
            """);
        packages.WriteNuGetConfig(_folder);

        var publish = await Dotnet.RunAsync(app, Step, "publish", "-c", "Release", "-r", "linux-x64", "-o", Path.Combine(_folder, "out"));

        Assert.True(publish.ExitCode == 0, publish.Output);
        Assert.DoesNotContain("warning", publish.Output, StringComparison.OrdinalIgnoreCase);
        var executable = Path.Combine(_folder, "out", "AotAgent");
        Assert.True(File.Exists(executable), publish.Output);
        var journal = Path.Combine(_folder, "agent.db");
        var first = await Native.RunAsync(executable, journal);
        var second = await Native.RunAsync(executable, journal);
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Matches(@"run-\w+: ada: 42, approved True by grace; 7 entries journaled in ", first.Output);
        Assert.Contains("1 completed runs in the journal", first.Output, StringComparison.Ordinal);
        Assert.Contains("2 completed runs in the journal", second.Output, StringComparison.Ordinal);
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

    private static class Native
    {
        public static async Task<(int ExitCode, string Output)> RunAsync(string executable, string journal)
        {
            var start = new System.Diagnostics.ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(journal);
            using var process = System.Diagnostics.Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{executable} did not finish in a minute:\n{await output}{await error}");
            }

            return (process.ExitCode, await output + await error);
        }
    }
}
