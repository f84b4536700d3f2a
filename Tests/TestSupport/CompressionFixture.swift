/// Three series in promtool-dump text, small enough to check the compression
/// breakdown by hand: `a` a constant value every 15 s (every delta-of-delta in
/// bucket '0' after the second sample, every value '0'), `b` a single sample,
/// `c` the worked example of docs/format/chunks.md#worked-example.
public let compressionFixture = """
    {__name__="a"} 1 1700000000000
    {__name__="a"} 1 1700000015000
    {__name__="a"} 1 1700000030000
    {__name__="a"} 1 1700000045000
    {__name__="a"} 1 1700000060000
    {__name__="a"} 1 1700000075000
    {__name__="a"} 1 1700000090000
    {__name__="a"} 1 1700000105000
    {__name__="a"} 1 1700000120000
    {__name__="a"} 1 1700000135000
    {__name__="b"} 3.5 1700000000000
    {__name__="c"} 1 1700000000000
    {__name__="c"} 1 1700000015000
    {__name__="c"} 0 1700000030000
    {__name__="c"} 1 1700000045500

    """
