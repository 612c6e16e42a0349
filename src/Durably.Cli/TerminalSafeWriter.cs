using System.Globalization;
using System.Text;

namespace Durably.Cli;

// Writes text to a terminal with control characters other than line breaks and tabs shown as \uXXXX. Run ids, step
// and signal names, senders and error messages come from users and from journals; written raw, an escape sequence
// in one could clear the operator's screen, rewrite what was printed before or retitle the window.
internal sealed class TerminalSafeWriter(TextWriter inner) : TextWriter(CultureInfo.InvariantCulture)
{
    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value)
    {
        if (IsSafe(value))
        {
            inner.Write(value);
        }
        else
        {
            inner.Write(Escape(value));
        }
    }

    public override void Write(string? value) => inner.Write(Sanitize(value));

    public override void Write(char[] buffer, int index, int count) => inner.Write(Sanitize(new string(buffer, index, count)));

    public override void WriteLine(string? value) => inner.WriteLine(Sanitize(value));

    public override Task WriteAsync(string? value) => inner.WriteAsync(Sanitize(value));

    public override Task WriteLineAsync(string? value) => inner.WriteLineAsync(Sanitize(value));

    public override void Flush() => inner.Flush();

    public override Task FlushAsync() => inner.FlushAsync();

    private static bool IsSafe(char c) => !char.IsControl(c) || c is '\n' or '\r' or '\t';

    private static string Escape(char c) => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture);

    private static string? Sanitize(string? value)
    {
        if (value is null || value.All(IsSafe))
        {
            return value;
        }

        var safe = new StringBuilder(value.Length + 16);
        foreach (var c in value)
        {
            safe.Append(IsSafe(c) ? c.ToString() : Escape(c));
        }

        return safe.ToString();
    }
}
