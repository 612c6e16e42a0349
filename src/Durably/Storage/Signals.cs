using Durably.Journal;

namespace Durably.Storage;

/// <summary>Describes a signal to deliver to a run: a name, an optional payload and who sent it.</summary>
/// <param name="Name">The signal name the run waits for, for example <c>approval:publish</c>.</param>
/// <param name="Payload">The signal's payload, or <see langword="null"/>.</param>
/// <param name="Sender">Who sent it (a user name, a service), recorded in the journal when consumed.</param>
public sealed record SignalMessage(string Name, Payload? Payload = null, string? Sender = null);

/// <summary>Describes a signal the store accepted: durable, in the run's inbox, with an id that orders it.</summary>
/// <param name="SignalId">The store-assigned id; ids increase in delivery order within a run.</param>
/// <param name="Name">The signal name.</param>
/// <param name="Payload">The payload, or <see langword="null"/>.</param>
/// <param name="Sender">Who sent it, if known.</param>
/// <param name="DeliveredAt">When the store accepted it.</param>
public sealed record DeliveredSignal(long SignalId, string Name, Payload? Payload, string? Sender, DateTimeOffset DeliveredAt);
