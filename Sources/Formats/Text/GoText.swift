/// The exact text Go's standard library gives for floats and quoted strings,
/// which `promtool tsdb dump` prints (`fmt.Printf("%s %g %d\n", labels, v, t)`).
/// Everything appends UTF-8 bytes to a buffer so dumps of millions of samples
/// allocate nothing per sample on the common paths.
package enum GoText {
    /// Appends `fmt`'s `%g` of `v` (Go `strconv.FormatFloat(v, 'g', -1, 64)`):
    /// the shortest digits that read back as `v`, in exponent form (`1e+06`,
    /// `3.3873e-05`) when the decimal exponent is below -4 or at least 6, else
    /// plain (`123456`, `0.25`); `NaN`, `+Inf`, `-Inf`, `-0`.
    package static func appendFloat(_ v: Double, to out: inout [UInt8]) {
        if v.isNaN { out.append(contentsOf: "NaN".utf8); return }
        if v.isInfinite { out.append(contentsOf: (v < 0 ? "-Inf" : "+Inf").utf8); return }
        if v == v.rounded(.towardZero), abs(v) < 1e6 {
            if v.sign == .minus { out.append(UInt8(ascii: "-")) }
            appendInteger(UInt64(abs(v)), to: &out)
            return
        }
        // Swift's description also gives the shortest round-trip digits; only
        // the layout differs from Go's, so take the digits and decimal exponent.
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        var pointAt: Int?
        var exponent = 0
        var inExponent = false, exponentNegative = false
        for c in v.magnitude.description.utf8 {
            if inExponent {
                if c == UInt8(ascii: "-") {
                    exponentNegative = true
                } else if c != UInt8(ascii: "+") {
                    exponent = exponent * 10 + Int(c - UInt8(ascii: "0"))
                }
            } else if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                inExponent = true
            } else if c == UInt8(ascii: ".") {
                pointAt = digits.count
            } else {
                digits.append(c)
            }
        }
        if exponentNegative { exponent = -exponent }
        // value = 0.d1d2d3… × 10^dp
        var dp = (pointAt ?? digits.count) + exponent
        var lead = 0
        while lead < digits.count, digits[lead] == UInt8(ascii: "0") { lead += 1; dp -= 1 }
        var end = digits.count
        while end > lead, digits[end - 1] == UInt8(ascii: "0") { end -= 1 }
        let d = digits[lead..<end]
        if v.sign == .minus { out.append(UInt8(ascii: "-")) }
        guard !d.isEmpty else { out.append(UInt8(ascii: "0")); return }
        let exp = dp - 1
        if exp < -4 || exp >= 6 {
            out.append(d[d.startIndex])
            if d.count > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: d.dropFirst())
            }
            out.append(UInt8(ascii: "e"))
            out.append(UInt8(ascii: exp < 0 ? "-" : "+"))
            if abs(exp) < 10 { out.append(UInt8(ascii: "0")) }
            appendInteger(UInt64(abs(exp)), to: &out)
            return
        }
        if dp <= 0 {
            out.append(UInt8(ascii: "0"))
            out.append(UInt8(ascii: "."))
            for _ in 0..<(-dp) { out.append(UInt8(ascii: "0")) }
            out.append(contentsOf: d)
            return
        }
        for i in 0..<max(dp, d.count) {
            if i == dp { out.append(UInt8(ascii: ".")) }
            out.append(i < d.count ? d[d.startIndex + i] : UInt8(ascii: "0"))
        }
    }

    /// Appends the decimal digits of `n`.
    package static func appendInteger(_ n: UInt64, to out: inout [UInt8]) {
        if n < 10 { out.append(UInt8(ascii: "0") + UInt8(n)); return }
        var digits = 1
        var m = n
        while m >= 10 { m /= 10; digits += 1 }
        let end = out.count + digits
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        out.withUnsafeMutableBufferPointer { b in
            var i = end
            var m = n
            while m > 0 {
                i -= 1
                b[i] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: m % 10)
                m /= 10
            }
        }
    }

    /// Appends a signed decimal integer.
    package static func appendInteger(_ n: Int64, to out: inout [UInt8]) {
        if n < 0 { out.append(UInt8(ascii: "-")) }
        appendInteger(n.magnitude, to: &out)
    }

    /// Appends Go's `strconv.Quote(s)`: double quotes; `\"` and `\\`; `\a \b \f
    /// \n \r \t \v`; other ASCII controls and DEL as `\xNN`; non-ASCII characters
    /// that Go does not count as printable (not a letter, mark, number,
    /// punctuation or symbol) as `\uNNNN` / `\UNNNNNNNN`; everything else as is.
    package static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let plain = s.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        if plain {
            out.append(contentsOf: s.utf8)
        } else {
            for u in s.unicodeScalars { appendEscaped(u, to: &out) }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func appendEscaped(_ u: Unicode.Scalar, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        func escape(_ letter: Character) {
            out.append(UInt8(ascii: "\\"))
            out.append(UInt8(ascii: letter.unicodeScalars.first!))
        }
        switch u.value {
        case 0x22: escape("\"")
        case 0x5C: escape("\\")
        case 0x07: escape("a")
        case 0x08: escape("b")
        case 0x0C: escape("f")
        case 0x0A: escape("n")
        case 0x0D: escape("r")
        case 0x09: escape("t")
        case 0x0B: escape("v")
        case 0..<0x20, 0x7F:
            out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(u.value >> 4)], hex[Int(u.value & 15)]])
        case 0x20..<0x7F:
            out.append(UInt8(u.value))
        default:
            if isPrintable(u) {
                out.append(contentsOf: String(u).utf8)
            } else {
                let wide = u.value > 0xFFFF
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: wide ? "U" : "u"))
                for shift in stride(from: wide ? 28 : 12, through: 0, by: -4) {
                    out.append(hex[Int((u.value >> UInt32(shift)) & 15)])
                }
            }
        }
    }

    /// Go's `unicode.IsPrint` for non-ASCII: categories L, M, N, P and S.
    private static func isPrintable(_ u: Unicode.Scalar) -> Bool {
        switch u.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .nonspacingMark, .spacingMark, .enclosingMark,
            .decimalNumber, .letterNumber, .otherNumber,
            .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation,
            .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }
}
