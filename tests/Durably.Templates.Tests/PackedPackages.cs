namespace Durably.Templates.Tests;

// Packs every package of the solution once for the tests of this assembly, with a version of its own so that the
// generated project restores these packages and nothing cached from an earlier run.
public sealed class PackedPackages : IAsyncLifetime
{
    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "durably-packages-" + Guid.NewGuid().ToString("N"));

    public string Version { get; } = "0.0.0-local." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture) + "." + Environment.ProcessId;

    public string Output { get; private set; } = "";

    public int ExitCode { get; private set; }

    public async Task InitializeAsync()
    {
        // --no-build: the solution is built in Release before the tests run (scripts/test.sh).
        (ExitCode, Output) = await Dotnet.RunAsync(Dotnet.RepositoryRoot, TimeSpan.FromMinutes(5),
            "pack", "Durably.slnx", "-c", "Release", "--no-build", "-o", Folder, $"-p:Version={Version}");
    }

    // Writes a nuget.config into folder that puts the packed packages first; the machine's usual sources (from the user's NuGet
    // configuration) serve the rest.
    public void WriteNuGetConfig(string folder) => File.WriteAllText(Path.Combine(folder, "nuget.config"), $"""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <packageSources>
            <add key="durably-local" value="{Folder}" />
          </packageSources>
        </configuration>
        """);

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }

        // The restore of the generated project extracted these versions into the global packages folder: they are
        // of no use to anyone after this run.
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages
            ? packages
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in Directory.Exists(cache) ? Directory.GetDirectories(cache, "durably*") : [])
        {
            var version = Path.Combine(id, Version);
            if (Directory.Exists(version))
            {
                try
                {
                    Directory.Delete(version, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }

        return Task.CompletedTask;
    }
}
