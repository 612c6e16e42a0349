using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

// Spans and metrics are process-wide (every ActivitySource and Meter listener sees every run): one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Durably.OpenTelemetry.Tests;

// The OpenTelemetry SDK, subscribed with AddDurablyInstrumentation() and exporting to memory.
internal sealed class Telemetry : IDisposable
{
    private readonly TracerProvider _tracing;
    private readonly MeterProvider _metering;
    private readonly List<Activity> _spans = [];
    private readonly List<MetricSnapshot> _metrics = [];

    public Telemetry()
    {
        _tracing = Sdk.CreateTracerProviderBuilder().AddDurablyInstrumentation().AddInMemoryExporter(_spans).Build();
        _metering = Sdk.CreateMeterProviderBuilder().AddDurablyInstrumentation().AddInMemoryExporter(_metrics).Build();
    }

    public IReadOnlyList<Activity> Spans(RunId runId)
    {
        _tracing.ForceFlush();
        return [.. _spans.Where(s => (string?)s.GetTagItem("durably.run_id") == runId.Value)];
    }

    // The sum of a counter's points (cumulative since the provider was built) whose tags include every given tag.
    public long Sum(string instrument, params (string Key, object Value)[] tags)
    {
        long sum = 0;
        foreach (var metric in Collect(instrument))
        {
            foreach (var point in metric.MetricPoints)
            {
                var pointTags = new Dictionary<string, object?>();
                foreach (var tag in point.Tags)
                {
                    pointTags[tag.Key] = tag.Value;
                }

                if (tags.All(t => pointTags.TryGetValue(t.Key, out var value) && Equals(value, t.Value)))
                {
                    sum += point.GetSumLong();
                }
            }
        }

        return sum;
    }

    public long HistogramCount(string instrument)
    {
        long count = 0;
        foreach (var metric in Collect(instrument))
        {
            foreach (var point in metric.MetricPoints)
            {
                count += point.GetHistogramCount();
            }
        }

        return count;
    }

    private List<MetricSnapshot> Collect(string instrument)
    {
        _metrics.Clear();
        _metering.ForceFlush();
        return [.. _metrics.Where(m => m.Name == instrument)];
    }

    public void Dispose()
    {
        _tracing.Dispose();
        _metering.Dispose();
    }
}
