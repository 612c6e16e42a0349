using Npgsql;

namespace Durably.Postgres.Tests;

// Pure parsing: no server needed.
public sealed class PostgresConnectionStringTests
{
    [Theory]
    [InlineData("postgres://localhost/durably", true)]
    [InlineData("PostgreSQL://worker:secret@db:5432/app", true)]
    [InlineData("Host=db;Database=app;Username=worker", true)]
    [InlineData(" server = db ; database = app", true)]
    [InlineData("agent.db", false)]
    [InlineData("/var/lib/app/Host=journal.db", false)]
    [InlineData("C:\\data\\journal.db", false)]
    [InlineData("hostnames.db", false)]
    public void IsPostgres_Text_TellsServersFromFiles(string text, bool expected)
    {
        Assert.Equal(expected, PostgresConnectionString.IsPostgres(text));
    }

    [Fact]
    public void ToNpgsql_UrlWithEveryPart_DecodesAndMapsToNpgsqlKeys()
    {
        var converted = PostgresConnectionString.ToNpgsql("postgres://ana%40corp:p%3Ass%2Fw@db.example.com:6543/app%20db?sslmode=verify-full&application_name=worker-1&connect_timeout=7&Maximum%20Pool%20Size=20");

        var settings = new NpgsqlConnectionStringBuilder(converted);
        Assert.Equal(("ana@corp", "p:ss/w"), (settings.Username, settings.Password));
        Assert.Equal(("db.example.com", 6543, "app db"), (settings.Host, settings.Port, settings.Database));
        Assert.Equal(SslMode.VerifyFull, settings.SslMode);
        Assert.Equal(("worker-1", 7, 20), (settings.ApplicationName, settings.Timeout, settings.MaxPoolSize));
    }

    [Fact]
    public void ToNpgsql_SeveralHostsWithIpv6_KeepsEachHostsPort()
    {
        var settings = new NpgsqlConnectionStringBuilder(PostgresConnectionString.ToNpgsql("postgresql://worker@db1:5432,[::1]:5433,db3/app?target_session_attrs=primary"));

        Assert.Equal("db1:5432,[::1]:5433,db3", settings.Host);
        Assert.Equal("app", settings.Database);
    }

    [Fact]
    public void ToNpgsql_UnixSocketFolderAsHost_IsDecoded()
    {
        var settings = new NpgsqlConnectionStringBuilder(PostgresConnectionString.ToNpgsql("postgres://worker@%2Fvar%2Frun%2Fpostgresql/app"));

        Assert.Equal("/var/run/postgresql", settings.Host);
    }

    [Fact]
    public void ToNpgsql_KeyValueString_IsReturnedAsItIs()
    {
        const string text = "Host=db;Database=app;Username=worker;Password=secret";

        Assert.Equal(text, PostgresConnectionString.ToNpgsql("  " + text + " "));
    }

    [Theory]
    [InlineData("postgres://worker:secret@db:99999/app", "port '99999'")]
    [InlineData("postgres://worker:secret@/app", "names no host")]
    [InlineData("postgres://worker:secret@db/app?sslmode=maybe", "sslmode 'maybe'")]
    [InlineData("postgres://worker:secret@db/app?colour=blue", "'colour'")]
    [InlineData("postgres://worker:secret@[::1/app", "']'")]
    [InlineData("Host=db;Password=secret;Colour=blue", "colour")]
    public void ToNpgsql_MalformedInput_SaysWhatIsWrongWithoutRepeatingThePassword(string text, string complaint)
    {
        var ex = Assert.Throws<ArgumentException>(() => PostgresConnectionString.ToNpgsql(text));

        Assert.Contains(complaint, ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secret", ex.Message, StringComparison.Ordinal);
    }
}
