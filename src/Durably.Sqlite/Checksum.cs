using System.Buffers.Binary;
using System.Numerics;

namespace Durably.Sqlite;

// CRC-32C of stored bytes. SQLite does not checksum pages, so without it a damaged entry that still
// parses as JSON (one changed letter in a result) would replay as if it had been written that way.
internal static class Checksum
{
    public static long Compute(ReadOnlySpan<byte> data)
    {
        var crc = uint.MaxValue;
        while (data.Length >= sizeof(ulong))
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }
}
