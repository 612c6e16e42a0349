namespace Durably.Templates.Tests;

// One pack of the solution for every test that needs the packages. With a fixture per class, the classes packed the same
// tree at the same time, and one pack failed on a file the other held (Durably.Cli's obj/.../deps.json); the collection
// packs once and runs its classes one after the other.
[CollectionDefinition(Name)]
public sealed class PackedPackagesCollection : ICollectionFixture<PackedPackages>
{
    public const string Name = "packed packages";
}
