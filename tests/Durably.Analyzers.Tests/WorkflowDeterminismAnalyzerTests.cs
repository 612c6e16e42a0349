using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Durably.Analyzers.Tests;

public sealed class WorkflowDeterminismAnalyzerTests
{
    private const string Usings = "using System; using System.Diagnostics; using System.Threading; using System.Threading.Tasks; using Durably;\n";

    [Theory]
    [InlineData("var t = DateTime.UtcNow;", "DURABLY001", "DateTime.UtcNow", "ctx.UtcNow")]
    [InlineData("var t = DateTimeOffset.Now;", "DURABLY001", "DateTimeOffset.Now", "ctx.UtcNow")]
    [InlineData("var t = Stopwatch.StartNew();", "DURABLY001", "Stopwatch.StartNew()", "ctx.UtcNow")]
    [InlineData("var t = TimeProvider.System.GetUtcNow();", "DURABLY001", "TimeProvider.GetUtcNow()", "ctx.UtcNow")]
    [InlineData("var id = Guid.NewGuid();", "DURABLY002", "Guid.NewGuid()", "ctx.NewGuid()")]
    [InlineData("var n = new Random().Next();", "DURABLY003", "new Random()", "ctx.Random")]
    [InlineData("var n = Random.Shared.Next();", "DURABLY003", "Random.Shared", "ctx.Random")]
    [InlineData("await Task.Delay(1000);", "DURABLY004", "Task.Delay()", "ctx.SleepAsync")]
    [InlineData("Thread.Sleep(1000);", "DURABLY004", "Thread.Sleep()", "ctx.SleepAsync")]
    public async Task WorkflowLambda_NonDeterministicCall_ReportedWithTheReplacement(string statement, string id, string what, string replacement)
    {
        var diagnostics = await AnalyzeAsync($$"""
            static class Setup
            {
                public static void Register(DurableRuntime runtime) => runtime.Register<int, int>("w", async (ctx, input) =>
                {
                    {{statement}}
                    return await ctx.StepAsync("s", _ => Task.FromResult(input));
                });
            }
            """);

        var diagnostic = Assert.Single(diagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Warning, diagnostic.Severity);
        Assert.Contains($"'{what}'", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        Assert.Contains(replacement, diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StepBodiesAndReconcileCallbacks_ClockAndGuids_NotReported()
    {
        var diagnostics = await AnalyzeAsync("""
            static class Setup
            {
                public static void Register(DurableRuntime runtime) => runtime.Register<int, string>("w", async (ctx, input) =>
                {
                    var a = await ctx.StepAsync("a", _ => Task.FromResult(DateTime.UtcNow.ToString()));
                    var b = await ctx.StepAsync("b", async step => { await Task.Delay(10); Func<Guid> make = () => Guid.NewGuid(); return make().ToString(); });
                    var c = await ctx.StepAsync("c", Body, new StepOptions { Reconcile = step => Task.FromResult(Reconciliation.Done(Random.Shared.Next())) });
                    return a + b + c;
                });

                private static Task<string> Body(StepContext step) => Task.FromResult(Guid.NewGuid().ToString());

                public static string Unrelated() => DateTime.Now.ToString() + Guid.NewGuid();
            }
            """);

        Assert.Empty(diagnostics);
    }

    [Fact]
    public async Task ClassWorkflowPhasesAndNestedLambdas_NonDeterministicCalls_Reported()
    {
        var diagnostics = await AnalyzeAsync("""
            sealed class Checkout : Workflow<int, string>
            {
                public override async Task<string> RunAsync(RunContext context, int input)
                {
                    var order = Guid.NewGuid();
                    var drafts = await context.PhaseAsync("draft", async () =>
                    {
                        await Task.Delay(5);
                        return new[] { 1, 2 }.Select(_ => Random.Shared.Next()).ToArray();
                    });
                    return Helper(context) + order;
                }

                private static string Helper(RunContext context) => DateTime.UtcNow.ToString();
            }
            """);

        Assert.Equal(["DURABLY002", "DURABLY004", "DURABLY003", "DURABLY001"], diagnostics.Select(d => d.Id));
    }

    [Fact]
    public async Task CompilationWithoutDurably_ReportsNothing()
    {
        var diagnostics = await AnalyzeAsync("static class C { public static Guid M() { var x = DateTime.UtcNow; return Guid.NewGuid(); } }", withDurably: false);

        Assert.Empty(diagnostics);
    }

    private static async Task<ImmutableArray<Diagnostic>> AnalyzeAsync(string source, bool withDurably = true)
    {
        var usings = withDurably ? Usings + "using System.Linq;\n" : "using System;\n";
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var references = platform.Select(p => MetadataReference.CreateFromFile(p)).ToList();
        if (withDurably)
        {
            references.Add(MetadataReference.CreateFromFile(typeof(RunContext).Assembly.Location));
        }

        var compilation = CSharpCompilation.Create(
            "Sample",
            [CSharpSyntaxTree.ParseText(usings + source, new CSharpParseOptions(LanguageVersion.Latest))],
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var diagnostics = await compilation.WithAnalyzers([new WorkflowDeterminismAnalyzer()]).GetAnalyzerDiagnosticsAsync();
        return [.. diagnostics.OrderBy(d => d.Location.SourceSpan.Start)];
    }
}
