using System.Text;
using Durably.Journal;

namespace Durably.Tests;

public sealed class PayloadTests
{
    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("1 2")]
    [InlineData("{'a':1}")]
    public void FromJson_NotOneJsonValue_ThrowsArgumentException(string text)
    {
        var ex = Assert.Throws<ArgumentException>(() => Payload.FromJson(text));
        Assert.Contains("JSON", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromJson_NestedTenThousandLevels_ThrowsClearErrorInsteadOfOverflowing()
    {
        var deep = new string('[', 10_000) + new string(']', 10_000);

        var ex = Assert.Throws<ArgumentException>(() => Payload.FromJson(deep));

        Assert.Contains("nests deeper than 128", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromValue_ThenToValue_RoundTripsTypedValue()
    {
        var payload = Payload.FromValue(new[] { "a", "b" });
        Assert.Equal(["a", "b"], payload.ToValue<string[]>()!);
        Assert.Equal(Payload.FromJson("[\"a\",\"b\"]"), payload);
    }

    [Fact]
    public void ToJsonString_OnCodecPayload_ThrowsSayingToDecodeFirst()
    {
        var payload = new Payload("aesgcm:k1", Encoding.UTF8.GetBytes("secret"));
        var ex = Assert.Throws<InvalidOperationException>(() => payload.ToJsonString());
        Assert.Contains("aesgcm:k1", ex.Message, StringComparison.Ordinal);
    }
}
