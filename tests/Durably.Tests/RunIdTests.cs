namespace Durably.Tests;

public sealed class RunIdTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("order-42")]
    [InlineData("tenant:acme@2026.11.26_run-7")]
    [InlineData("0")]
    public void Constructor_AllowedCharacters_Accepts(string text)
    {
        Assert.Equal(text, new RunId(text).Value);
        Assert.True(RunId.TryParse(text, out var parsed));
        Assert.Equal(new RunId(text), parsed);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("../etc/passwd", "starts with '.'")]
    [InlineData("a/b", "'/' at position 1")]
    [InlineData("a\\b", "'\\' at position 1")]
    [InlineData("..", "starts with '.'")]
    [InlineData("a\u0000b", "'\\u0000' at position 1")]
    [InlineData("a\nb", "'\\u000a' at position 1")]
    [InlineData("a b", "' ' at position 1")]
    [InlineData("-flag", "starts with '-'")]
    [InlineData("café", "'é' at position 3")]
    public void Constructor_DisallowedText_ThrowsArgumentExceptionSayingWhatIsAllowed(string text, string reason)
    {
        var ex = Assert.Throws<ArgumentException>(() => new RunId(text));
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
        Assert.Contains("A-Z, a-z, 0-9 and - _ . : @", ex.Message, StringComparison.Ordinal);
        Assert.False(RunId.TryParse(text, out _));
    }

    [Fact]
    public void Constructor_LongerThanLimit_Throws()
    {
        Assert.Equal(128, new RunId(new string('a', 128)).Value.Length);
        var ex = Assert.Throws<ArgumentException>(() => new RunId(new string('a', 10_240)));
        Assert.Contains("10240 characters long; the limit is 128", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void New_MakesDistinctValidIds()
    {
        var a = RunId.New();
        var b = RunId.New();
        Assert.NotEqual(a, b);
        Assert.Null(RunId.Validate(a.Value));
    }

    [Fact]
    public void Default_Value_ThrowsInsteadOfActingAsEmptyId()
    {
        Assert.Throws<InvalidOperationException>(() => default(RunId).Value);
    }
}
