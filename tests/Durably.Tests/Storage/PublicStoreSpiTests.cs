using System.Reflection;
using Durably.Storage;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Durably.Tests.Storage;

// A store in another assembly is written against public types only: the in-memory store's source compiles in an
// assembly the core grants no internals to, and the stores' projects have no InternalsVisibleTo from the core.
public sealed class PublicStoreSpiTests
{
    [Fact]
    public void InMemoryJournalStore_CompiledOutsideTheCore_NeedsOnlyPublicMembers()
    {
        // Its partial files too (InMemoryJournalStore.Queues.cs: IRunQueueStore; InMemoryJournalStore.Schedules.cs: IScheduleStore).
        var sources = Directory.GetFiles(Path.Combine(RepositoryRoot(), "src", "Durably", "Storage"), "InMemoryJournalStore*.cs").Select(File.ReadAllText).ToArray();

        Assert.True(sources.Length >= 3);
        Assert.Empty(CompileOutsideTheCore(sources));
    }

    [Fact]
    public void CompileOutsideTheCore_SourceUsingAnInternalMember_ReportsIt()
    {
        // The check above can fail: a store that reached for an internal member would not compile.
        var errors = CompileOutsideTheCore("""
            namespace Outside;
            public static class Probe
            {
                public static byte[] Peek(Durably.Journal.Payload payload) => payload.UnsafeBytes;
            }
            """);

        Assert.Contains(errors, e => e.Id == "CS1061" && e.GetMessage(System.Globalization.CultureInfo.InvariantCulture).Contains("UnsafeBytes", StringComparison.Ordinal));
    }

    [Fact]
    public void CoreProject_GrantsInternalsToNoStoreNorTheTestingLibrary()
    {
        var granted = typeof(IJournalStore).Assembly.GetCustomAttributes<System.Runtime.CompilerServices.InternalsVisibleToAttribute>()
            .Select(a => a.AssemblyName)
            .ToList();

        Assert.Equal(["Durably.Tests"], granted);
    }

    private static List<Diagnostic> CompileOutsideTheCore(params string[] sources)
    {
        const string ImplicitUsings = "global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq; global using System.Threading; global using System.Threading.Tasks;";
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var references = platform
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "netstandard.dll" or "mscorlib.dll")
            .Append(typeof(IJournalStore).Assembly.Location)
            .Select(p => MetadataReference.CreateFromFile(p));
        var options = new CSharpParseOptions(LanguageVersion.Preview);
        var compilation = CSharpCompilation.Create(
            "Durably.OutsideStore",
            [CSharpSyntaxTree.ParseText(ImplicitUsings, options), .. sources.Select(source => CSharpSyntaxTree.ParseText(source, options))],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        return [.. compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error)];
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Durably.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (with Durably.slnx) was not found above " + AppContext.BaseDirectory);
    }
}
