using Durably.Codecs;
using Durably.Storage;

namespace Durably.Scheduling;

// Turns a definition into a stored record: validation, and what an update keeps of the record it replaces.
internal static class ScheduleSpecs
{
    public static void CheckId(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var bad = id.Length is 0 or > ScheduleDefinition.MaxIdLength || !char.IsAsciiLetterOrDigit(id[0])
            || id.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'));
        if (bad)
        {
            throw new ArgumentException($"The schedule id '{id}' is not allowed: use 1 to {ScheduleDefinition.MaxIdLength} characters from A-Z a-z 0-9 - _ . : starting with a letter or a digit (run ids of its fires are '{{id}}@{{time}}').", nameof(id));
        }
    }

    // Checks the definition and returns when it fires.
    public static ScheduleTimes Check(ScheduleDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        CheckId(definition.Id);
        JournalText.CheckName(definition.Workflow, nameof(definition));
        ArgumentNullException.ThrowIfNull(definition.CatchUp, nameof(definition));
        if (!Enum.IsDefined(definition.Overlap) || !Enum.IsDefined(definition.CatchUp.Mode))
        {
            throw new ArgumentException($"Schedule '{definition.Id}' has an unknown Overlap or CatchUp.Mode value.", nameof(definition));
        }

        if (definition.CatchUp.MaxFires < 1 || definition.CatchUp.Grace < TimeSpan.Zero || definition.CatchUp.Grace > CatchUpPolicy.MaxGrace)
        {
            throw new ArgumentException($"Schedule '{definition.Id}' has CatchUp.MaxFires {definition.CatchUp.MaxFires} and CatchUp.Grace {definition.CatchUp.Grace}: MaxFires must be at least 1 and Grace between zero and {CatchUpPolicy.MaxGrace}.", nameof(definition));
        }

        return ScheduleTimes.Create(definition.Id, definition.Cron, definition.TimeZone, definition.Interval);
    }

    // The record to save for `definition` over `existing` (null: a new schedule), or null when the stored one already says the same.
    // An update keeps the state (paused, last fire, triggers); a change of when it fires restarts its fires from now.
    public static ScheduleRecord? Apply(ScheduleDefinition definition, IPayloadCodec codec, ScheduleRecord? existing, DateTimeOffset now)
    {
        var times = Check(definition);
        var input = definition.Input switch
        {
            null => null,
            Journal.Payload encoded => encoded,
            var value => codec.Encode(value),
        };
        if (existing is null)
        {
            return new ScheduleRecord
            {
                ScheduleId = definition.Id,
                Workflow = definition.Workflow,
                Input = input,
                Cron = definition.Cron,
                TimeZone = definition.TimeZone,
                Interval = definition.Interval,
                Overlap = definition.Overlap,
                CatchUp = definition.CatchUp,
                NextFireAt = times.NextAfter(now),
                CreatedAt = now,
                UpdatedAt = now,
            };
        }

        var timingChanged = existing.Cron != definition.Cron || existing.TimeZone != definition.TimeZone || existing.Interval != definition.Interval;
        var updated = existing with
        {
            Workflow = definition.Workflow,
            Input = input,
            Cron = definition.Cron,
            TimeZone = definition.TimeZone,
            Interval = definition.Interval,
            Overlap = definition.Overlap,
            CatchUp = definition.CatchUp,
            NextFireAt = timingChanged ? times.NextAfter(now) : existing.NextFireAt,
            BufferedFireAt = timingChanged ? null : existing.BufferedFireAt,
        };
        return updated == existing ? null : updated with { UpdatedAt = now };
    }

    public static ScheduleTimes TimesOf(ScheduleRecord record) => ScheduleTimes.Create(record.ScheduleId, record.Cron, record.TimeZone, record.Interval);
}
