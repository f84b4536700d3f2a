import CStorage

/// The grow-and-retry recipe for C functions that write into a caller-owned
/// buffer and return `CS_E_NOSPACE` when it is too small: `attempt` runs; on
/// `CS_E_NOSPACE`, `grow` gets `needed()` (what the C side asked for) to
/// enlarge the buffers, and `attempt` runs once more. Any other result,
/// including a second `CS_E_NOSPACE`, is returned for the caller to check.
///
/// - Parameter limit: the most `needed()` may be, from what bounds it (the
///   input's size, a format maximum). A larger or non-positive need throws
///   `.noSpace` before anything is allocated, so a size announced by hostile
///   input cannot make the caller allocate without bound.
@inlinable package func growOnNoSpace<R: BinaryInteger>(
    limit: Int, needed: () -> Int, grow: (Int) -> Void, _ attempt: () -> R
) throws(CodecError) -> R {
    let rc = attempt()
    guard rc == R(CS_E_NOSPACE) else { return rc }
    let need = needed()
    guard need > 0, need <= limit else { throw CodecError(code: CS_E_NOSPACE) }
    grow(need)
    return attempt()
}
