using System.Runtime.CompilerServices;

namespace Durably;

// Journal entries are JSON, and JSON text cannot carry a lone UTF-16 surrogate: System.Text.Json writes one as U+FFFD,
// so a name or a value holding one would come back different on replay.
internal static class JournalText
{
    // Returns the index of the first surrogate that is not half of a pair, or -1.
    public static int IndexOfLoneSurrogate(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return i;
            }
        }

        return -1;
    }

    // Checks a name that is journaled and compared on replay: a workflow, step, signal or gate name.
    public static void CheckName(string name, [CallerArgumentExpression(nameof(name))] string? paramName = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name, paramName);
        var at = IndexOfLoneSurrogate(name);
        if (at >= 0)
        {
            throw new ArgumentException($"The name holds a lone surrogate (U+{(int)name[at]:X4}) at index {at}. Names are journaled as JSON, which cannot carry one: it would come back as U+FFFD and no longer match on replay. Use valid UTF-16 text.", paramName);
        }
    }

    // Replaces lone surrogates with U+FFFD, as the journal would, in text that is journaled to be read rather than
    // compared (an error message): the live run then sees the same text replay will.
    public static string Normalize(string text)
    {
        if (IndexOfLoneSurrogate(text) < 0)
        {
            return text;
        }

        var chars = text.ToCharArray();
        for (var i = IndexOfLoneSurrogate(text); i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(chars[i]))
            {
                chars[i] = '\uFFFD';
            }
        }

        return new string(chars);
    }
}
