using System.Text.Json;

namespace Durably.AI;

/// <summary>Describes one tool call a model asked for (see <see cref="AIStepView.ToolCalls"/>).</summary>
/// <param name="Name">The tool's name.</param>
/// <param name="Arguments">The arguments as a JSON object, or <see langword="null"/> when the call has none.</param>
public sealed record AIToolCallView(string Name, JsonElement? Arguments);
