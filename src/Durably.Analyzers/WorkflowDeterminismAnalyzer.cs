using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Durably.Analyzers;

/// <summary>Flags calls in workflow code that make a replay see other values than the first execution: the wall clock, new GUIDs, unseeded randomness, in-memory delays.</summary>
/// <remarks>
/// <para>Workflow code is the body of a method, lambda or local function that takes a <c>Durably.RunContext</c> (a registered
/// workflow delegate, <c>Workflow&lt;TInput, TResult&gt;.RunAsync</c>, a helper given the context), including lambdas nested in
/// it that take neither context, such as the body of <c>ctx.PhaseAsync</c>. Step bodies (lambdas and methods that take a
/// <c>Durably.StepContext</c>) are not workflow code: their results are journaled, so they may use the clock freely.</para>
/// <para>A helper method that takes no context is not analyzed; pass the context to it, or the values read from it.</para>
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class WorkflowDeterminismAnalyzer : DiagnosticAnalyzer
{
    /// <summary>The id of the diagnostic for the wall clock read in workflow code.</summary>
    public const string WallClockId = "DURABLY001";

    /// <summary>The id of the diagnostic for a new GUID made in workflow code.</summary>
    public const string NewGuidId = "DURABLY002";

    /// <summary>The id of the diagnostic for unseeded randomness in workflow code.</summary>
    public const string RandomId = "DURABLY003";

    /// <summary>The id of the diagnostic for an in-memory delay in workflow code.</summary>
    public const string DelayId = "DURABLY004";

    private const string Category = "Durably.Determinism";

    private static readonly DiagnosticDescriptor WallClock = new(
        WallClockId,
        "Workflow code reads the wall clock",
        "'{0}' reads the wall clock in workflow code, so a replay after a crash sees another time and may take another path: use ctx.UtcNow, which is journaled, or read the clock inside a step",
        Category,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "Workflow code is re-executed from the top on recovery and must compute the same values every time. RunContext.UtcNow records the time on first use and returns the recorded value on replay.");

    private static readonly DiagnosticDescriptor NewGuid = new(
        NewGuidId,
        "Workflow code makes a new GUID",
        "'{0}' makes a different GUID on every replay: use ctx.NewGuid(), which derives it from the run id and returns the same value on replay",
        Category,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "An id made with Guid.NewGuid() in workflow code changes when the run is replayed after a crash, so effects that used the first one no longer match.");

    private static readonly DiagnosticDescriptor Randomness = new(
        RandomId,
        "Workflow code uses unseeded randomness",
        "'{0}' gives other numbers on every replay: use ctx.Random, which is seeded from the run id and repeats its sequence on replay",
        Category,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "Random numbers drawn in workflow code must be the same on replay; RunContext.Random is seeded per run.");

    private static readonly DiagnosticDescriptor Delay = new(
        DelayId,
        "Workflow code waits in memory",
        "'{0}' waits in memory: the wait is lost in a crash, starts over on replay and holds the run in memory. Use ctx.SleepAsync, a durable timer that survives restarts and costs nothing while it waits.",
        Category,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true,
        description: "RunContext.SleepAsync journals the timer and unloads the run until it is due.");

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(WallClock, NewGuid, Randomness, Delay);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var types = KnownTypes.Create(start.Compilation);
            if (types is null)
            {
                return; // the compilation does not use Durably
            }

            start.RegisterOperationAction(c => AnalyzeProperty(c, types), OperationKind.PropertyReference);
            start.RegisterOperationAction(c => AnalyzeInvocation(c, types), OperationKind.Invocation);
            start.RegisterOperationAction(c => AnalyzeCreation(c, types), OperationKind.ObjectCreation);
        });
    }

    private static void AnalyzeProperty(OperationAnalysisContext context, KnownTypes types)
    {
        var property = ((IPropertyReferenceOperation)context.Operation).Property;
        var type = property.ContainingType;
        var rule = property.Name switch
        {
            "Now" or "UtcNow" or "Today" when Is(type, types.DateTime) || Is(type, types.DateTimeOffset) => WallClock,
            "TickCount" or "TickCount64" when Is(type, types.Environment) => WallClock,
            "Shared" when Is(type, types.Random) => Randomness,
            _ => null,
        };
        Report(context, types, rule, $"{type.Name}.{property.Name}");
    }

    private static void AnalyzeInvocation(OperationAnalysisContext context, KnownTypes types)
    {
        var method = ((IInvocationOperation)context.Operation).TargetMethod;
        var type = method.ContainingType;
        var rule = method.Name switch
        {
            "NewGuid" or "CreateVersion7" when Is(type, types.Guid) => NewGuid,
            "GetUtcNow" or "GetLocalNow" or "GetTimestamp" when Is(type, types.TimeProvider) => WallClock,
            "StartNew" or "GetTimestamp" when Is(type, types.Stopwatch) => WallClock,
            "Delay" when Is(type, types.Task) => Delay,
            "Sleep" when Is(type, types.Thread) => Delay,
            _ when Is(type, types.RandomNumberGenerator) && method.IsStatic => Randomness,
            _ => null,
        };
        Report(context, types, rule, $"{type.Name}.{method.Name}()");
    }

    private static void AnalyzeCreation(OperationAnalysisContext context, KnownTypes types)
    {
        var creation = (IObjectCreationOperation)context.Operation;
        var type = creation.Constructor?.ContainingType;
        var rule = Is(type, types.Random) ? Randomness : Is(type, types.Stopwatch) ? WallClock : null;
        Report(context, types, rule, $"new {type?.Name}()");
    }

    private static void Report(OperationAnalysisContext context, KnownTypes types, DiagnosticDescriptor? rule, string what)
    {
        if (rule is not null && IsWorkflowCode(context.Operation, context.ContainingSymbol, types))
        {
            context.ReportDiagnostic(Diagnostic.Create(rule, context.Operation.Syntax.GetLocation(), what));
        }
    }

    // Walks out from the operation to the nearest function that says, by its parameters, whose code it is.
    private static bool IsWorkflowCode(IOperation operation, ISymbol containingSymbol, KnownTypes types)
    {
        for (var current = operation.Parent; current is not null; current = current.Parent)
        {
            var function = current switch
            {
                IAnonymousFunctionOperation lambda => lambda.Symbol,
                ILocalFunctionOperation local => local.Symbol,
                _ => null,
            };
            if (function is not null && Classify(function, types) is { } verdict)
            {
                return verdict;
            }
        }

        return containingSymbol is IMethodSymbol method && Classify(method, types) == true;
    }

    private static bool? Classify(IMethodSymbol function, KnownTypes types)
    {
        if (function.Parameters.Any(p => Is(p.Type, types.StepContext)))
        {
            return false;
        }

        return function.Parameters.Any(p => Is(p.Type, types.RunContext)) ? true : null;
    }

    private static bool Is(ITypeSymbol? type, INamedTypeSymbol? expected)
        => expected is not null && SymbolEqualityComparer.Default.Equals(type?.OriginalDefinition, expected);

    private sealed class KnownTypes
    {
        private KnownTypes(Compilation compilation, INamedTypeSymbol runContext)
        {
            RunContext = runContext;
            StepContext = compilation.GetTypeByMetadataName("Durably.StepContext");
            DateTime = compilation.GetTypeByMetadataName("System.DateTime");
            DateTimeOffset = compilation.GetTypeByMetadataName("System.DateTimeOffset");
            Environment = compilation.GetTypeByMetadataName("System.Environment");
            Guid = compilation.GetTypeByMetadataName("System.Guid");
            Random = compilation.GetTypeByMetadataName("System.Random");
            RandomNumberGenerator = compilation.GetTypeByMetadataName("System.Security.Cryptography.RandomNumberGenerator");
            Stopwatch = compilation.GetTypeByMetadataName("System.Diagnostics.Stopwatch");
            Task = compilation.GetTypeByMetadataName("System.Threading.Tasks.Task");
            Thread = compilation.GetTypeByMetadataName("System.Threading.Thread");
            TimeProvider = compilation.GetTypeByMetadataName("System.TimeProvider");
        }

        public INamedTypeSymbol RunContext { get; }

        public INamedTypeSymbol? StepContext { get; }

        public INamedTypeSymbol? DateTime { get; }

        public INamedTypeSymbol? DateTimeOffset { get; }

        public INamedTypeSymbol? Environment { get; }

        public INamedTypeSymbol? Guid { get; }

        public INamedTypeSymbol? Random { get; }

        public INamedTypeSymbol? RandomNumberGenerator { get; }

        public INamedTypeSymbol? Stopwatch { get; }

        public INamedTypeSymbol? Task { get; }

        public INamedTypeSymbol? Thread { get; }

        public INamedTypeSymbol? TimeProvider { get; }

        public static KnownTypes? Create(Compilation compilation)
            => compilation.GetTypeByMetadataName("Durably.RunContext") is { } runContext ? new KnownTypes(compilation, runContext) : null;
    }
}
