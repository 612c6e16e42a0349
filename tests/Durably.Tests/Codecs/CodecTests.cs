using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Durably.Codecs;
using Durably.Journal;
using Durably.Storage;

namespace Durably.Tests.Codecs;

public sealed class CodecTests
{
    private static readonly byte[] KeyA = RandomNumberGenerator.GetBytes(32);
    private static readonly byte[] KeyB = RandomNumberGenerator.GetBytes(32);

    private static string Large => string.Join(" ", Enumerable.Repeat("the quick brown fox jumps over the lazy dog", 200));

    private static PayloadKeyRing Ring(string current = "key-a") => new(current, [new("key-a", KeyA), new("key-b", KeyB)]);

    [Theory]
    [InlineData(PayloadCompression.GZip, "gzip")]
    [InlineData(PayloadCompression.Brotli, "br")]
    public void Encode_WithCompression_LargeValueShrinksAndRoundTrips(PayloadCompression compression, string encoding)
    {
        var codec = JsonPayloadCodec.Default.WithCompression(compression);

        var payload = codec.Encode(Large);

        Assert.Equal(encoding, payload.Encoding);
        Assert.True(payload.Length < Large.Length / 10, $"{payload.Length} bytes");
        Assert.Equal(Large, codec.Decode<string>(payload));
    }

    [Fact]
    public void Encode_WithCompression_SmallValueStaysPlainJson()
    {
        var payload = JsonPayloadCodec.Default.WithCompression().Encode("short");

        Assert.True(payload.IsJson);
        Assert.Equal("\"short\"", payload.ToJsonString());
    }

    [Fact]
    public void Decode_BothAlgorithmsAndPlainJson_ReadWhateverTheWritingAlgorithm()
    {
        var reader = JsonPayloadCodec.Default.WithCompression(PayloadCompression.Brotli);

        Assert.Equal(Large, reader.Decode<string>(JsonPayloadCodec.Default.WithCompression(PayloadCompression.GZip).Encode(Large)));
        Assert.Equal(42, reader.Decode<int>(Payload.FromJson("42")));
    }

    [Fact]
    public void Decode_CompressionBomb_ThrowsJournalCorruptedInsteadOfExhaustingMemory()
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(new byte[8 * 1024 * 1024]);
        }

        var codec = new CompressingPayloadCodec(JsonPayloadCodec.Default, maxDecodedBytes: 1024 * 1024);

        var ex = Assert.Throws<JournalCorruptedException>(() => codec.Decode<string>(new Payload("gzip", output.ToArray())));
        Assert.Contains("expands to more than", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_DamagedCompressedData_ThrowsJournalCorrupted()
    {
        var codec = JsonPayloadCodec.Default.WithCompression();

        var ex = Assert.Throws<JournalCorruptedException>(() => codec.Decode<string>(new Payload("gzip", "not gzip at all"u8)));
        Assert.Contains("damaged", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_WithEncryption_HidesTheValueAndRoundTrips()
    {
        var codec = JsonPayloadCodec.Default.WithEncryption(Ring());

        var payload = codec.Encode(new { card = "4111-1111-1111-1111" });

        Assert.Equal("aesgcm:key-a", payload.Encoding);
        Assert.DoesNotContain("4111-1111", Encoding.Latin1.GetString(payload.Data.Span), StringComparison.Ordinal);
        Assert.Equal("4111-1111-1111-1111", codec.Decode<CardHolder>(payload).Card);
        Assert.NotEqual(payload, codec.Encode(new { card = "4111-1111-1111-1111" }));
    }

    [Fact]
    public void Encode_CompressedThenEncrypted_NamesBothLayersAndSurvivesTheWireFormat()
    {
        var codec = JsonPayloadCodec.Default.WithCompression().WithEncryption(Ring());
        var entry = new StepCompleted { Sequence = 3, Step = 1, Result = codec.Encode(Large) };

        var read = (StepCompleted)JournalSerializer.Deserialize(JournalSerializer.Serialize(entry));

        Assert.Equal("aesgcm:key-a+gzip", read.Result!.Encoding);
        Assert.True(read.Result.Length < Large.Length / 10);
        Assert.Equal(Large, codec.Decode<string>(read.Result));
    }

    [Fact]
    public void Decode_AfterRotatingToANewKey_ReadsPayloadsWrittenWithTheOldKey()
    {
        var before = JsonPayloadCodec.Default.WithEncryption(Ring("key-a"));
        var after = JsonPayloadCodec.Default.WithEncryption(Ring("key-a").WithCurrentKey("key-b"));
        var old = before.Encode("written with A");

        var fresh = after.Encode("written with B");

        Assert.Equal("aesgcm:key-b", fresh.Encoding);
        Assert.Equal("written with A", after.Decode<string>(old));
        Assert.Equal("written with B", after.Decode<string>(fresh));
    }

    [Fact]
    public void Decode_KeyNotOnTheRing_ThrowsNamingTheKeyId()
    {
        var payload = JsonPayloadCodec.Default.WithEncryption(Ring("key-b")).Encode("secret");
        var withoutB = JsonPayloadCodec.Default.WithEncryption(PayloadKeyRing.Single("key-a", KeyA));

        var ex = Assert.Throws<PayloadKeyNotFoundException>(() => withoutB.Decode<string>(payload));

        Assert.Equal("key-b", ex.KeyId);
        Assert.Contains("'key-b'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("key-a", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_AlteredCiphertextOrRelabelledKey_ThrowsJournalCorrupted()
    {
        var codec = JsonPayloadCodec.Default.WithEncryption(Ring());
        var payload = codec.Encode("pay 10 EUR");
        var flipped = payload.Data.ToArray();
        flipped[14] ^= 1;

        Assert.Throws<JournalCorruptedException>(() => codec.Decode<string>(new Payload(payload.Encoding, flipped)));
        Assert.Throws<JournalCorruptedException>(() => codec.Decode<string>(new Payload("aesgcm:key-b", payload.Data.Span)));
        Assert.Throws<JournalCorruptedException>(() => codec.Decode<string>(new Payload("aesgcm:key-a", "short"u8)));
    }

    [Fact]
    public void Decode_EncryptedPayloadWithoutEncryptingCodec_SaysToUseTheJournalsCodec()
    {
        var payload = JsonPayloadCodec.Default.WithEncryption(Ring()).Encode("secret");

        var ex = Assert.Throws<InvalidOperationException>(() => JsonPayloadCodec.Default.WithCompression().Decode<string>(payload));
        Assert.Contains("aesgcm:key-a", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "key")]
    [InlineData("has space", "key")]
    [InlineData("key-a", "length")]
    [InlineData("missing", "current")]
    public void PayloadKeyRing_InvalidSetup_ThrowsArgumentException(string keyId, string problem)
    {
        Assert.ThrowsAny<ArgumentException>(() => problem switch
        {
            "length" => new PayloadKeyRing(keyId, [new(keyId, new byte[20])]),
            "current" => new PayloadKeyRing(keyId, [new("other", KeyA)]),
            _ => new PayloadKeyRing(keyId, [new(keyId, KeyA)]),
        });
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Encode_StringWithNulCharacters_RoundTripsExactly(string name)
    {
        var codec = Make(name);
        var text = "a\0b\0\0c" + new string('\0', 600);

        Assert.Equal(text, codec.Decode<string>(codec.Encode(text)));
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Encode_StringWithLoneSurrogate_ThrowsClearErrorInsteadOfChangingTheValue(string name)
    {
        var codec = Make(name);

        var inValue = Assert.Throws<ArgumentException>(() => codec.Encode(new[] { "ok", "before \uD800 after" }));
        var inKey = Assert.Throws<ArgumentException>(() => codec.Encode(new Dictionary<string, int> { ["\uDC00"] = 1 }));

        Assert.Contains("lone surrogate (U+D800) at index 7", inValue.Message, StringComparison.Ordinal);
        Assert.Contains("U+DC00", inKey.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Encode_ReplacementCharacterAndSurrogatePairs_RoundTripExactly(string name)
    {
        var codec = Make(name);
        var text = "\uFFFD is fine, so is \U0001F600 and \uD83D\uDE00";

        Assert.Equal(text, codec.Decode<string>(codec.Encode(text)));
    }

    public static TheoryData<string> Codecs => ["json", "gzip", "aesgcm", "aesgcm+gzip"];

    private static IPayloadCodec Make(string name) => name switch
    {
        "json" => JsonPayloadCodec.Default,
        "gzip" => JsonPayloadCodec.Default.WithCompression(minBytes: 0),
        "aesgcm" => JsonPayloadCodec.Default.WithEncryption(Ring()),
        _ => JsonPayloadCodec.Default.WithCompression(minBytes: 0).WithEncryption(Ring()),
    };

    private sealed record CardHolder(string Card);
}
