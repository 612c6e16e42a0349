using System.Net.Sockets;
using Durably.Storage;
using Npgsql;

namespace Durably.Postgres;

// Turns Npgsql and server errors into the store's exceptions, with messages that name the server and say what to do.
internal static class PostgresErrors
{
    // SQLSTATEs: https://www.postgresql.org/docs/current/errcodes-appendix.html
    public static JournalStoreException Translate(Exception ex, string location, string action)
    {
        if (ex is PostgresException pg)
        {
            return pg.SqlState switch
            {
                "53100" => new StoreFullException($"The PostgreSQL server at {location} is out of disk space while {action}; nothing was written. Free space on the server and retry. ({pg.MessageText})", ex) { StoreLocation = location },
                "53200" or "53300" or "53400" => new JournalStoreException($"The PostgreSQL server at {location} is out of resources while {action} ({pg.SqlState}: {pg.MessageText}). Retry later, or raise the server's limits.", ex) { StoreLocation = location },
                "25006" => new JournalStoreException($"The PostgreSQL server at {location} is read-only while {action} (a standby, or default_transaction_read_only is on). Point the store at the primary.", ex) { StoreLocation = location },
                "3D000" => new JournalStoreException($"The database named in the connection string does not exist on {location}. Create it, or fix the connection string.", ex) { StoreLocation = location },
                "28P01" or "28000" => new JournalStoreException($"The PostgreSQL server at {location} refused the login while {action}: {pg.MessageText}. Check the user name and password.", ex) { StoreLocation = location },
                "3F000" or "42P01" => new JournalStoreException($"The Durably schema is missing on {location} while {action} ({pg.MessageText}). Open the store with SchemaMode = CreateOrUpdate, or apply PostgresJournalStore.GetSchemaScript.", ex) { StoreLocation = location },
                "42501" => new JournalStoreException($"The database user lacks a permission on {location} while {action}: {pg.MessageText}. Grant it, or apply the schema with a user that may.", ex) { StoreLocation = location },
                "57P01" or "57P02" or "57P03" => new JournalStoreException($"The PostgreSQL server at {location} is shutting down, restarting or not yet accepting connections while {action} ({pg.MessageText}). Retry when it is up.", ex) { StoreLocation = location },
                _ when pg.SqlState.StartsWith("08", StringComparison.Ordinal) => new JournalStoreException($"The connection to the PostgreSQL server at {location} failed while {action}: {pg.MessageText}", ex) { StoreLocation = location },
                _ => new JournalStoreException($"PostgreSQL at {location} failed while {action}: {pg.SqlState} {pg.MessageText}", ex) { StoreLocation = location },
            };
        }

        if (FindInner<SocketException>(ex) is { } socket)
        {
            return new JournalStoreException($"Cannot reach the PostgreSQL server at {location} while {action}: {socket.Message}. Check that the server is running and accepts TCP connections at that host and port.", ex) { StoreLocation = location };
        }

        if (FindInner<TimeoutException>(ex) is not null)
        {
            return new JournalStoreException($"The PostgreSQL server at {location} did not answer in time while {action}. Check the server and the network, or raise the connection string's Timeout.", ex) { StoreLocation = location };
        }

        return new JournalStoreException($"The connection to the PostgreSQL server at {location} failed while {action}: {ex.Message}", ex) { StoreLocation = location };
    }

    // Errors a retry of the same transaction can get past: another transaction won a race.
    public static bool IsRetryable(PostgresException ex) => ex.SqlState is "40001" or "40P01" or "23505";

    // Errors of the server or its disk rather than of one append: every append in the batch gets them.
    public static bool IsServerFailure(PostgresException ex)
        => ex.SqlState.StartsWith("53", StringComparison.Ordinal) || ex.SqlState.StartsWith("57", StringComparison.Ordinal)
            || ex.SqlState.StartsWith("58", StringComparison.Ordinal) || ex.SqlState.StartsWith("08", StringComparison.Ordinal)
            || ex.SqlState is "25006" or "3F000" or "42P01" or "42501" or "XX000";

    public static bool IsConnectionFailure(Exception ex) => ex is NpgsqlException or IOException or SocketException or TimeoutException;

    // The connection is gone (not merely a statement that failed on a live connection).
    public static bool IsLostConnection(Exception ex)
        => ex is not PostgresException pg || pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState.StartsWith("57P", StringComparison.Ordinal);

    private static T? FindInner<T>(Exception ex)
        where T : Exception
    {
        for (var inner = ex; inner is not null; inner = inner.InnerException)
        {
            if (inner is T match)
            {
                return match;
            }
        }

        return null;
    }
}
