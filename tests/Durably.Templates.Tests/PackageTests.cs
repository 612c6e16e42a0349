using System.IO.Compression;
using System.Xml.Linq;

namespace Durably.Templates.Tests;

[Collection(PackedPackagesCollection.Name)]
public sealed class PackageTests(PackedPackages packages)
{
    private static readonly string[] Expected =
    [
        "Durably", "Durably.AI", "Durably.Agents", "Durably.Agents.Workflows", "Durably.Analyzers", "Durably.AspNetCore", "Durably.Aspire", "Durably.Aspire.Hosting", "Durably.Cli",
        "Durably.Hosting", "Durably.OpenTelemetry", "Durably.Postgres", "Durably.Sqlite", "Durably.Templates", "Durably.Testing",
    ];

    [Fact]
    public void Pack_Solution_SucceedsWithoutAWarning()
    {
        Assert.True(packages.ExitCode == 0, packages.Output);
        var warnings = packages.Output.Split('\n').Where(line => line.Contains("warning", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.True(warnings.Count == 0, string.Join('\n', warnings));
    }

    [Fact]
    public void Pack_EveryPackage_HasItsReadmeLicenceRepositoryAndNoTestOrSampleIsPacked()
    {
        Assert.True(packages.ExitCode == 0, packages.Output);
        var ids = Directory.GetFiles(packages.Folder, "*.nupkg").Select(p => Path.GetFileName(p)[..^$".{packages.Version}.nupkg".Length]).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(Expected.Order(StringComparer.Ordinal), ids);
        foreach (var id in Expected)
        {
            using var package = ZipFile.OpenRead(Path.Combine(packages.Folder, $"{id}.{packages.Version}.nupkg"));
            var nuspecEntry = package.Entries.Single(e => e.FullName == $"{id}.nuspec");
            using var stream = nuspecEntry.Open();
            var metadata = XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
            string? Value(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;

            Assert.Equal("README.md", Value("readme"));
            Assert.Contains(package.Entries, e => e.FullName == "README.md");
            Assert.Equal("MIT", Value("license"));
            Assert.False(string.IsNullOrWhiteSpace(Value("description")), $"{id} has no description");
            Assert.False(string.IsNullOrWhiteSpace(Value("tags")), $"{id} has no tags");
            var repository = metadata.Elements().Single(e => e.Name.LocalName == "repository");
            Assert.False(string.IsNullOrEmpty(repository.Attribute("url")?.Value), $"{id} names no repository");
            Assert.False(string.IsNullOrEmpty(repository.Attribute("commit")?.Value), $"{id} names no commit");
        }
    }
}
