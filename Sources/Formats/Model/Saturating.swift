extension Int64 {
    /// `self + d`, clamped to the representable range: timestamps from requests
    /// and old WALs can sit at either end of it, and bounds derived from them
    /// must not trap.
    @inlinable package func saturatingAdd(_ d: Int64) -> Int64 {
        let (r, overflow) = addingReportingOverflow(d)
        return overflow ? (d > 0 ? .max : .min) : r
    }

    /// `self - d`, clamped to the representable range.
    @inlinable package func saturatingSub(_ d: Int64) -> Int64 {
        let (r, overflow) = subtractingReportingOverflow(d)
        return overflow ? (d > 0 ? .min : .max) : r
    }
}
