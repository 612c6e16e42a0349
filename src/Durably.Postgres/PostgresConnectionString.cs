using System.Globalization;
using Npgsql;

namespace Durably.Postgres;

/// <summary>Recognises PostgreSQL connection strings and turns <c>postgres://</c> URLs into Npgsql's key-value form.</summary>
/// <remarks>
/// Tools that take "a SQLite path or a PostgreSQL connection" in one argument (the <c>durably</c> CLI, the agent demo)
/// use <see cref="IsPostgres"/> to tell them apart and <see cref="ToNpgsql"/> to get a string for
/// <see cref="PostgresJournalStoreOptions.ConnectionString"/>. Error messages never repeat the input, which may hold a password.
/// </remarks>
public static class PostgresConnectionString
{
    // libpq's URL parameters and the Npgsql keys that mean the same.
    private static readonly Dictionary<string, string> LibpqKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        ["application_name"] = "Application Name",
        ["connect_timeout"] = "Timeout",
        ["options"] = "Options",
        ["sslmode"] = "SSL Mode",
        ["sslrootcert"] = "Root Certificate",
        ["sslcert"] = "SSL Certificate",
        ["sslkey"] = "SSL Key",
        ["sslpassword"] = "SSL Password",
        ["target_session_attrs"] = "Target Session Attributes",
        ["user"] = "Username",
        ["password"] = "Password",
        ["dbname"] = "Database",
        ["host"] = "Host",
        ["port"] = "Port",
    };

    private static readonly Dictionary<string, string> SslModes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["disable"] = "Disable",
        ["allow"] = "Allow",
        ["prefer"] = "Prefer",
        ["require"] = "Require",
        ["verify-ca"] = "VerifyCA",
        ["verify-full"] = "VerifyFull",
    };

    /// <summary>Returns whether <paramref name="text"/> names a PostgreSQL server rather than a file: a <c>postgres://</c> or <c>postgresql://</c> URL, or a key-value string with <c>Host=</c> (or <c>Server=</c>).</summary>
    public static bool IsPostgres(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        if (SchemeLength(trimmed) > 0)
        {
            return true;
        }

        return trimmed.Split(';').Any(part =>
        {
            var key = part.Split('=', 2)[0].Trim();
            return part.Contains('=', StringComparison.Ordinal) && (key.Equals("Host", StringComparison.OrdinalIgnoreCase) || key.Equals("Server", StringComparison.OrdinalIgnoreCase));
        });
    }

    /// <summary>Returns an Npgsql connection string for a <c>postgres://user:password@host:port/database?sslmode=require</c> URL, or checks and returns a key-value string as it is.</summary>
    /// <remarks>
    /// <para>In a URL, user, password, host and database are percent-decoded (a host such as <c>%2Fvar%2Frun%2Fpostgresql</c>
    /// is a unix socket folder), several hosts are separated by commas (<c>db1:5432,db2:5432</c>), and an IPv6 address
    /// is written in brackets. Query parameters may be libpq's (<c>sslmode</c>, <c>application_name</c>,
    /// <c>connect_timeout</c>, <c>target_session_attrs</c>, <c>sslrootcert</c>, <c>sslcert</c>, <c>sslkey</c>,
    /// <c>sslpassword</c>, <c>options</c>) or any Npgsql key (<c>Maximum%20Pool%20Size=20</c>).</para>
    /// </remarks>
    /// <exception cref="ArgumentException">The text is neither a valid URL nor a valid Npgsql connection string; the message says which part is wrong, without repeating the text.</exception>
    public static string ToNpgsql(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        var scheme = SchemeLength(trimmed);
        if (scheme == 0)
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(trimmed);
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"The PostgreSQL connection string has a key Npgsql does not know or a value it cannot use ({ex.Message.Split(" (Parameter '", 2)[0]}).", nameof(text));
            }

            return trimmed;
        }

        return FromUrl(trimmed[scheme..]);
    }

    private static int SchemeLength(string text)
    {
        foreach (var scheme in (string[])["postgres://", "postgresql://"])
        {
            if (text.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            {
                return scheme.Length;
            }
        }

        return 0;
    }

    private static string FromUrl(string rest)
    {
        var builder = new NpgsqlConnectionStringBuilder();
        var query = string.Empty;
        var questionMark = rest.IndexOf('?', StringComparison.Ordinal);
        if (questionMark >= 0)
        {
            query = rest[(questionMark + 1)..];
            rest = rest[..questionMark];
        }

        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = slash >= 0 ? rest[..slash] : rest;
        if (slash >= 0 && rest[(slash + 1)..] is { Length: > 0 } database)
        {
            builder.Database = Uri.UnescapeDataString(database);
        }

        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = authority[..at];
            authority = authority[(at + 1)..];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(userInfo[(colon + 1)..]);
                userInfo = userInfo[..colon];
            }

            if (userInfo.Length > 0)
            {
                builder.Username = Uri.UnescapeDataString(userInfo);
            }
        }

        if (authority.Length > 0)
        {
            SetHosts(builder, authority);
        }

        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = pair.Split('=', 2);
            var key = Uri.UnescapeDataString(parts[0]);
            var value = parts.Length == 2 ? Uri.UnescapeDataString(parts[1]) : string.Empty;
            if (key.Equals("sslmode", StringComparison.OrdinalIgnoreCase))
            {
                value = SslModes.TryGetValue(value, out var mode)
                    ? mode
                    : throw new ArgumentException($"The PostgreSQL URL's sslmode '{value}' is not one of {string.Join(", ", SslModes.Keys)}.", nameof(rest));
            }

            try
            {
                builder[LibpqKeys.GetValueOrDefault(key, key)] = value;
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
            {
                throw new ArgumentException($"The PostgreSQL URL's parameter '{key}' is not supported or its value is not valid: use a libpq parameter (sslmode, application_name, connect_timeout, ...) or an Npgsql connection string key.", nameof(rest), ex);
            }
        }

        if (string.IsNullOrEmpty(builder.Host))
        {
            throw new ArgumentException("The PostgreSQL URL names no host.", nameof(rest));
        }

        return builder.ConnectionString;
    }

    private static void SetHosts(NpgsqlConnectionStringBuilder builder, string authority)
    {
        var hosts = new List<(string Host, int? Port)>();
        foreach (var item in authority.Split(','))
        {
            string host;
            string? port = null;
            if (item.StartsWith('['))
            {
                var close = item.IndexOf(']', StringComparison.Ordinal);
                if (close < 0)
                {
                    throw new ArgumentException("The PostgreSQL URL has an IPv6 host without its closing ']'.", nameof(authority));
                }

                host = item[1..close];
                if (item.Length > close + 1)
                {
                    port = item[(close + 1)..].StartsWith(':') ? item[(close + 2)..] : throw new ArgumentException("The PostgreSQL URL has text after an IPv6 host that is not ':port'.", nameof(authority));
                }
            }
            else
            {
                var colon = item.LastIndexOf(':');
                host = colon >= 0 ? item[..colon] : item;
                port = colon >= 0 ? item[(colon + 1)..] : null;
            }

            int? number = null;
            if (port is not null)
            {
                number = int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536
                    ? p
                    : throw new ArgumentException($"The PostgreSQL URL's port '{port}' is not a number from 1 to 65535.", nameof(authority));
            }

            hosts.Add((Uri.UnescapeDataString(host), number));
        }

        if (hosts.Count == 1)
        {
            builder.Host = hosts[0].Host;
            if (hosts[0].Port is { } single)
            {
                builder.Port = single;
            }

            return;
        }

        // Npgsql takes several hosts, each with an optional port, in its Host key.
        builder.Host = string.Join(",", hosts.Select(h =>
        {
            var host = h.Host.Contains(':', StringComparison.Ordinal) ? $"[{h.Host}]" : h.Host;
            return h.Port is { } port ? $"{host}:{port.ToString(CultureInfo.InvariantCulture)}" : host;
        }));
    }
}
