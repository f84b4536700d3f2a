import CStorage
import Foundation
import Testing

@testable import Formats

/// C error codes reach Swift through one table, which must cover cs_error.h.
@Suite struct CodecErrorTests {
    /// `#define CS_E_NAME -N` lines of cs_error.h, read from the checkout.
    static func headerCodes() throws -> [(name: String, code: Int32)] {
        let header = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/CStorage/include/cs_error.h")
        let text = try String(contentsOf: header, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(whereSeparator: \.isWhitespace)
            guard fields.count >= 3, fields[0] == "#define", fields[1].hasPrefix("CS_E_"), let code = Int32(fields[2]) else {
                return nil
            }
            return (String(fields[1]), code)
        }
    }

    @Test func everyCodeInTheHeaderHasAKindAndAMessage() throws {
        let codes = try Self.headerCodes()
        try #require(codes.count >= 11, "cs_error.h parsed to \(codes.map(\.name))")
        for (name, code) in codes {
            let error = CodecError(code: code)
            #expect(error.kind != .unknown, "\(name) (\(code)) has no Swift kind")
            #expect(error.description != "unknown error", "\(name) (\(code)) has no cs_strerror message")
        }
        #expect(CodecError.kinds.map(\.code).sorted() == codes.map(\.code).sorted(), "the table lists codes not in cs_error.h")
    }

    @Test func kindsAreDistinctAndOnlyUnknownHasNoCode() {
        let mapped = CodecError.kinds.map(\.kind)
        #expect(Set(mapped.map { "\($0)" }).count == mapped.count)
        for kind in CodecError.Kind.allCases where kind != .unknown {
            #expect(mapped.contains(kind), "\(kind) has no C code")
        }
        #expect(CodecError(code: -1000).kind == .unknown)
        #expect(CodecError(code: CS_E_DUPLICATE).kind == .duplicate)
    }
}
