using System.Text.Json;
using System.Text.Json.Serialization;

namespace Durably.Storage;

/// <summary>Reads and writes <see cref="ScheduleRecord"/>s as JSON, for stores that keep a schedule in one column.</summary>
/// <remarks>The format is a JSON object with one member per property (camel case; <see cref="ScheduleRecord.DueAt"/> is left out,
/// since it is computed). Members are only ever added, so a newer Durably reads records an older one wrote. Thread-safe.</remarks>
public static class ScheduleSerializer
{
    /// <summary>Serializes a record to UTF-8 JSON.</summary>
    public static byte[] Serialize(ScheduleRecord schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        return JsonSerializer.SerializeToUtf8Bytes(schedule, ScheduleJsonContext.Default.ScheduleRecord);
    }

    /// <summary>Parses a record written by <see cref="Serialize"/>.</summary>
    /// <exception cref="JournalCorruptedException">The bytes are not a schedule record.</exception>
    public static ScheduleRecord Deserialize(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            return JsonSerializer.Deserialize(utf8Json, ScheduleJsonContext.Default.ScheduleRecord)
                ?? throw new JsonException("The record is null.");
        }
        catch (JsonException ex)
        {
            throw new JournalCorruptedException($"A stored schedule could not be read ({ex.Message}): the store is damaged. Delete the schedule ('durably schedules delete ID') and create it again.", ex);
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true)]
[JsonSerializable(typeof(ScheduleRecord))]
internal sealed partial class ScheduleJsonContext : JsonSerializerContext;
