namespace Aspire.Hosting.ApplicationModel;

/// <summary>Which store a Durably journal is kept in.</summary>
public enum DurablyJournalKind
{
    /// <summary>A SQLite file; the connection string is its absolute path.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database; the connection string is the database resource's.</summary>
    Postgres,
}

/// <summary>A Durably journal in the app model: a SQLite file or a PostgreSQL database, with the connection string that
/// <c>WithReference(journal)</c> hands to a service (<c>ConnectionStrings__{name}</c>, read by <c>builder.AddDurablySqlite(name)</c>
/// or <c>builder.AddDurablyPostgres(name)</c> of Durably.Aspire) and that the dashboard reads as <c>DURABLY_STORE</c>.</summary>
public sealed class DurablyJournalResource : Resource, IResourceWithConnectionString, IResourceWithWaitSupport
{
    private DurablyJournalResource(string name, DurablyJournalKind kind, ReferenceExpression connectionString, string? path, IResourceWithConnectionString? database)
        : base(name)
    {
        Kind = kind;
        ConnectionStringExpression = connectionString;
        Path = path;
        Database = database;
    }

    /// <summary>The store the journal is kept in.</summary>
    public DurablyJournalKind Kind { get; }

    /// <summary>The absolute path of the SQLite file; <see langword="null"/> for a PostgreSQL journal.</summary>
    public string? Path { get; }

    /// <summary>The database resource whose connection string the journal uses; <see langword="null"/> for a SQLite journal.</summary>
    public IResourceWithConnectionString? Database { get; }

    /// <summary>The connection string: the SQLite file's absolute path, or the database resource's connection string.</summary>
    public ReferenceExpression ConnectionStringExpression { get; }

    internal static DurablyJournalResource ForSqlite(string name, string absolutePath)
    {
        var expression = new ReferenceExpressionBuilder();
        // The expression is a composite format string: braces in the path are escaped to stand for themselves.
        expression.AppendLiteral(absolutePath.Replace("{", "{{", StringComparison.Ordinal).Replace("}", "}}", StringComparison.Ordinal));
        return new DurablyJournalResource(name, DurablyJournalKind.Sqlite, expression.Build(), absolutePath, null);
    }

    internal static DurablyJournalResource ForPostgres(string name, IResourceWithConnectionString database)
        => new(name, DurablyJournalKind.Postgres, ReferenceExpression.Create($"{database}"), null, database);
}
