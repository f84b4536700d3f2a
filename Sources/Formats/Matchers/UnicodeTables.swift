// MARK: - Unicode data

/// Simple case-folding orbits, the sets Go's `unicode.SimpleFold` cycles through:
/// scalars joined by their single-scalar lower, upper and title mappings, except
/// dotless ı, whose only folding is Turkic. Built once, on first use (~20 ms);
/// checked against Go 1.19, it differs only in scripts newer than Unicode 13.
enum CaseOrbits {
    /// Each scalar with case variants → its whole orbit, itself included.
    static let table: [UInt32: [UInt32]] = build()
    /// The keys of `table`, sorted.
    static let foldable: [UInt32] = table.keys.sorted()

    private static func build() -> [UInt32: [UInt32]] {
        var parent: [UInt32: UInt32] = [:]
        func root(_ x: UInt32) -> UInt32 {
            var x = x
            while let p = parent[x], p != x { x = p }
            return x
        }
        for value in UInt32(0)...0x1FFFF where value != 0x131 {
            guard let scalar = Unicode.Scalar(value), scalar.properties.changesWhenCaseMapped else { continue }
            let p = scalar.properties
            for mapping in [p.lowercaseMapping, p.uppercaseMapping, p.titlecaseMapping] {
                let scalars = mapping.unicodeScalars
                guard scalars.count == 1, let other = scalars.first?.value, other != value else { continue }
                let a = root(value), b = root(other)
                parent[a] = a
                parent[b] = b
                if a != b { parent[max(a, b)] = min(a, b) }
            }
        }
        var orbits: [UInt32: [UInt32]] = [:]
        for value in parent.keys { orbits[root(value), default: []].append(value) }
        var table: [UInt32: [UInt32]] = [:]
        for orbit in orbits.values where orbit.count > 1 {
            let sorted = orbit.sorted()
            for value in sorted { table[value] = sorted }
        }
        return table
    }
}

/// The named classes RE2 accepts: POSIX classes, Go's general categories (from
/// the standard library's properties, so Swift's Unicode version, not Go's 13.0)
/// and Go 1.19's script names (resolved by Swift's `Regex` as `\p{Script=…}`,
/// and not case-folded under `(?i)` as Go would).
enum UnicodeTables {
    static let posixClasses: [String: [ClosedRange<UInt32>]] = [
        "alnum": [0x30...0x39, 0x41...0x5A, 0x61...0x7A],
        "alpha": [0x41...0x5A, 0x61...0x7A],
        "ascii": [0x00...0x7F],
        "blank": [0x09...0x09, 0x20...0x20],
        "cntrl": [0x00...0x1F, 0x7F...0x7F],
        "digit": [0x30...0x39],
        "graph": [0x21...0x7E],
        "lower": [0x61...0x7A],
        "print": [0x20...0x7E],
        "punct": [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E],
        "space": [0x09...0x0D, 0x20...0x20],
        "upper": [0x41...0x5A],
        "word": [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A],
        "xdigit": [0x30...0x39, 0x41...0x46, 0x61...0x66]
    ]

    /// `Any` or a general category Go knows: the two-letter ones and their
    /// one-letter unions (Go's `C` leaves out unassigned code points).
    static func ranges(ofClass name: String) -> [ClosedRange<UInt32>]? {
        if name == "Any" { return [0...ScalarSet.maxScalar] }
        return categories[name]
    }

    static let scripts: Set<String> = Set(
        """
        Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak Bengali \
        Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian Caucasian_Albanian \
        Chakma Cham Cherokee Chorasmian Common Coptic Cuneiform Cypriot Cyrillic Deseret Devanagari \
        Dives_Akuru Dogra Duployan Egyptian_Hieroglyphs Elbasan Elymaic Ethiopic Georgian Glagolitic \
        Gothic Grantha Greek Gujarati Gunjala_Gondi Gurmukhi Han Hangul Hanifi_Rohingya Hanunoo Hatran \
        Hebrew Hiragana Imperial_Aramaic Inherited Inscriptional_Pahlavi Inscriptional_Parthian Javanese \
        Kaithi Kannada Katakana Kayah_Li Kharoshthi Khitan_Small_Script Khmer Khojki Khudawadi Lao Latin \
        Lepcha Limbu Linear_A Linear_B Lisu Lycian Lydian Mahajani Makasar Malayalam Mandaic Manichaean \
        Marchen Masaram_Gondi Medefaidrin Meetei_Mayek Mende_Kikakui Meroitic_Cursive \
        Meroitic_Hieroglyphs Miao Modi Mongolian Mro Multani Myanmar Nabataean Nandinagari New_Tai_Lue \
        Newa Nko Nushu Nyiakeng_Puachue_Hmong Ogham Ol_Chiki Old_Hungarian Old_Italic Old_North_Arabian \
        Old_Permic Old_Persian Old_Sogdian Old_South_Arabian Old_Turkic Oriya Osage Osmanya Pahawh_Hmong \
        Palmyrene Pau_Cin_Hau Phags_Pa Phoenician Psalter_Pahlavi Rejang Runic Samaritan Saurashtra \
        Sharada Shavian Siddham SignWriting Sinhala Sogdian Sora_Sompeng Soyombo Sundanese Syloti_Nagri \
        Syriac Tagalog Tagbanwa Tai_Le Tai_Tham Tai_Viet Takri Tamil Tangut Telugu Thaana Thai Tibetan \
        Tifinagh Tirhuta Ugaritic Vai Wancho Warang_Citi Yezidi Yi Zanabazar_Square
        """.split(separator: " ").map(String.init))

    /// Built once, on first use, by one pass over all scalars (~70 ms).
    private static let categories: [String: [ClosedRange<UInt32>]] = {
        var table: [String: [ClosedRange<UInt32>]] = [:]
        var run: (code: String?, start: UInt32) = (nil, 0)
        func close(at end: UInt32) {
            guard let code = run.code else { return }
            table[code, default: []].append(run.start...end)
            table[String(code.first!), default: []].append(run.start...end)
        }
        for value in UInt32(0)...ScalarSet.maxScalar {
            let category = Unicode.Scalar(value).flatMap { code($0.properties.generalCategory) }
            if category != run.code {
                close(at: value &- 1)
                run = (category, value)
            }
        }
        close(at: ScalarSet.maxScalar)
        return table.mapValues(ScalarSet.normalized)
    }()

    /// Go's two-letter name; nil for unassigned code points, which Go has no name for.
    private static func code(_ category: Unicode.GeneralCategory) -> String? {
        switch category {
        case .uppercaseLetter: return "Lu"
        case .lowercaseLetter: return "Ll"
        case .titlecaseLetter: return "Lt"
        case .modifierLetter: return "Lm"
        case .otherLetter: return "Lo"
        case .nonspacingMark: return "Mn"
        case .spacingMark: return "Mc"
        case .enclosingMark: return "Me"
        case .decimalNumber: return "Nd"
        case .letterNumber: return "Nl"
        case .otherNumber: return "No"
        case .connectorPunctuation: return "Pc"
        case .dashPunctuation: return "Pd"
        case .openPunctuation: return "Ps"
        case .closePunctuation: return "Pe"
        case .initialPunctuation: return "Pi"
        case .finalPunctuation: return "Pf"
        case .otherPunctuation: return "Po"
        case .mathSymbol: return "Sm"
        case .currencySymbol: return "Sc"
        case .modifierSymbol: return "Sk"
        case .otherSymbol: return "So"
        case .spaceSeparator: return "Zs"
        case .lineSeparator: return "Zl"
        case .paragraphSeparator: return "Zp"
        case .control: return "Cc"
        case .format: return "Cf"
        case .surrogate: return "Cs"
        case .privateUse: return "Co"
        case .unassigned: return nil
        @unknown default: return nil
        }
    }
}
