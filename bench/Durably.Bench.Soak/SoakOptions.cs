using System.Globalization;

namespace Durably.Bench.Soak;

internal sealed record SoakOptions
{
    public double Minutes { get; init; } = 30;

    public double BaselineMinutes { get; init; } = 4;

    public double Rate { get; init; } = 50;

    public int Steps { get; init; } = 10;

    public TimeSpan Keep { get; init; } = TimeSpan.FromMinutes(1);

    public TimeSpan CheckEvery { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan ReportEvery { get; init; } = TimeSpan.FromSeconds(30);

    public string Dir { get; init; } = Path.GetTempPath();

    public static SoakOptions Parse(string[] args)
    {
        var options = new SoakOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"'{args[i]}' needs a value.");
            options = args[i] switch
            {
                "--minutes" => options with { Minutes = Positive(value) },
                "--baseline-minutes" => options with { BaselineMinutes = double.Parse(value, CultureInfo.InvariantCulture) },
                "--rate" => options with { Rate = Positive(value) },
                "--steps" => options with { Steps = Math.Max(2, int.Parse(value, CultureInfo.InvariantCulture)) },
                "--keep" => options with { Keep = TimeSpan.FromSeconds(Positive(value)) },
                "--check-every" => options with { CheckEvery = TimeSpan.FromSeconds(Positive(value)) },
                "--report-every" => options with { ReportEvery = TimeSpan.FromSeconds(Positive(value)) },
                "--dir" => options with { Dir = value },
                _ => throw new ArgumentException($"Unknown option '{args[i]}'."),
            };
            i++;
        }

        return options;
    }

    private static double Positive(string value)
    {
        var number = double.Parse(value, CultureInfo.InvariantCulture);
        return number > 0 ? number : throw new ArgumentException($"'{value}' must be positive.");
    }
}
