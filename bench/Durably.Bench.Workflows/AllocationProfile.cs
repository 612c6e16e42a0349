using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Text.Json.Nodes;

namespace Durably.Bench.Workflows;

// With --alloc-profile: samples what the process allocates, by type, from the runtime's GCAllocationTick events (one
// event about every 100 KB allocated, naming the type of the object that crossed the mark). Enabled only around the
// measured windows; the estimate per type is its share of the samples times the bytes measured.
internal sealed class AllocationProfile : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> _bytesByType = new();
    private volatile bool _enabled;

    public void Start() => _enabled = true;

    public void Stop() => _enabled = false;

    public JsonObject Report(double totalAllocatedBytes, double steps, int top = 25)
    {
        var sampled = (double)_bytesByType.Values.Sum();
        var line = new JsonObject { ["kind"] = "alloc_profile", ["samples_bytes"] = sampled, ["steps"] = steps };
        var types = new JsonArray();
        foreach (var (type, bytes) in _bytesByType.OrderByDescending(p => p.Value).Take(top))
        {
            types.Add(new JsonObject
            {
                ["type"] = type,
                ["share"] = Stats.Round(bytes / sampled),
                ["bytes_per_step"] = Stats.Round(bytes / sampled * totalAllocatedBytes / steps),
            });
        }

        line["types"] = types;
        return line;
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_enabled || eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || eventData.Payload is null)
        {
            return;
        }

        var names = eventData.PayloadNames!;
        var type = names.IndexOf("TypeName") is var t and >= 0 ? eventData.Payload[t] as string ?? "?" : "?";
        var amount = names.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(eventData.Payload[a], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        _bytesByType.AddOrUpdate(type, amount, (_, v) => v + amount);
    }
}
