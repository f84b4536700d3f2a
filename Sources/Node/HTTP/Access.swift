import Crypto
import Formats
import Foundation
import HTTPTypes
import HummingbirdBcrypt
import NIOPosix
import Synchronization
import Yams

/// Who may call what: the tenant of a data request and the admin endpoints.
///
/// Tenants: with no `auth.tenantsFile` the tenant is `X-Scope-OrgID`, else the
/// basic-auth username, unauthenticated (as Mimir: a proxy in front
/// authenticates). With the file, every data request must authenticate, the
/// tenant is the authenticated one, and an `X-Scope-OrgID` naming another
/// tenant is refused.
/// Admin endpoints (`/ingester/*`): loopback peers only, unless
/// `server.adminToken` is set; then every caller needs `Authorization: Bearer`.
final class Access: Sendable {
    let multitenancy: Bool
    let adminToken: [UInt8]?
    let credentials: TenantCredentials?
    /// Authorization header values that verified, so bcrypt (tens of
    /// milliseconds of CPU by design) runs once per client credential, not per request.
    private let verified = Mutex<[String: String]>([:])
    private static let verifiedCapacity = 4096
    /// Bcrypt checks in progress: each costs a pool thread for its whole run,
    /// so a flood of wrong passwords is answered 429 instead of queueing.
    private let verifying = Atomic<Int>(0)
    private static let maxConcurrentVerifications = 2

    init(multitenancy: Bool, adminToken: String, credentials: TenantCredentials?) {
        self.multitenancy = multitenancy
        self.adminToken = adminToken.isEmpty ? nil : Array(adminToken.utf8)
        self.credentials = credentials
    }

    static let orgIDHeader = HTTPField.Name("X-Scope-OrgID")!

    /// The tenant of a data request; `pool` runs password verification.
    func tenant(_ headers: HTTPFields, pool: NIOThreadPool) async throws -> String {
        guard let credentials else {
            guard multitenancy else { return "anonymous" }
            let named = headers[Self.orgIDHeader].flatMap { $0.isEmpty ? nil : $0 } ?? Self.basicAuth(headers[.authorization])?.user
            guard let id = named.flatMap({ $0.isEmpty ? nil : $0 }) else {
                throw HTTPFailure(.unauthorized, "no tenant: send the X-Scope-OrgID header (or basic auth with the tenant as username)")
            }
            return try Self.validated(id)
        }
        guard let authorization = headers[.authorization] else {
            throw HTTPFailure(.unauthorized, "authentication required: basic auth (tenant and password) or a bearer token")
        }
        let tenant = try await authenticate(authorization, credentials, pool: pool)
        if let claimed = headers[Self.orgIDHeader], !claimed.isEmpty, claimed != tenant {
            throw HTTPFailure(.forbidden, "X-Scope-OrgID names another tenant than the one authenticated")
        }
        return multitenancy ? tenant : "anonymous"
    }

    private func authenticate(_ authorization: String, _ credentials: TenantCredentials, pool: NIOThreadPool) async throws -> String {
        if let tenant = verified.withLock({ $0[authorization] }) { return tenant }
        let tenant: String
        if let token = Self.bearer(authorization) {
            let digest = SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
            guard let owner = credentials.tokens[digest] else { throw HTTPFailure(.unauthorized, "unknown bearer token") }
            tenant = owner
        } else if let basic = Self.basicAuth(authorization) {
            guard let hash = credentials.passwords[basic.user] else { throw HTTPFailure(.unauthorized, "wrong tenant or password") }
            guard verifying.wrappingAdd(1, ordering: .relaxed).newValue <= Self.maxConcurrentVerifications else {
                verifying.wrappingSubtract(1, ordering: .relaxed)
                throw HTTPFailure(.tooManyRequests, "too many password checks in progress; retry")
            }
            defer { verifying.wrappingSubtract(1, ordering: .relaxed) }
            let password = basic.password
            let ok = try await pool.runIfActive { Bcrypt.verify(password, hash: hash) }
            guard ok else { throw HTTPFailure(.unauthorized, "wrong tenant or password") }
            tenant = basic.user
        } else {
            throw HTTPFailure(.unauthorized, "unsupported Authorization scheme: use Basic or Bearer")
        }
        verified.withLock { cache in
            if cache.count >= Self.verifiedCapacity { cache.removeAll(keepingCapacity: true) }
            cache[authorization] = tenant
        }
        return tenant
    }

    /// Throws unless the caller may use an admin endpoint.
    func authorizeAdmin(_ headers: HTTPFields, loopback: Bool) throws(HTTPFailure) {
        guard let adminToken else {
            guard loopback else {
                throw HTTPFailure(.forbidden, "admin endpoints answer loopback clients only; set server.adminToken to allow others")
            }
            return
        }
        guard let given = headers[.authorization].flatMap(Self.bearer), Self.constantTimeEqual(Array(given.utf8), adminToken) else {
            throw HTTPFailure(.unauthorized, "admin endpoints need Authorization: Bearer <server.adminToken>")
        }
    }

    static func validated(_ id: String) throws(HTTPFailure) -> String {
        do { try TenantID.validate(id) } catch { throw HTTPFailure(.badRequest, "invalid tenant ID: \(error)") }
        return id
    }

    /// User and password of an `Authorization: Basic` value.
    static func basicAuth(_ authorization: String?) -> (user: String, password: String)? {
        guard let authorization, authorization.utf8.count > 6, authorization.prefix(6).lowercased() == "basic ",
            let decoded = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8)
        else { return nil }
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let user = parts.first, !user.isEmpty else { return nil }
        return (String(user), parts.count > 1 ? String(parts[1]) : "")
    }

    static func bearer(_ authorization: String) -> String? {
        guard authorization.utf8.count > 7, authorization.prefix(7).lowercased() == "bearer " else { return nil }
        let token = authorization.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0xFF)
        }
        return diff == 0
    }
}

/// The `auth.tenantsFile`: per tenant a bcrypt password hash (basic auth, as
/// `htpasswd -B` makes) and/or the SHA-256 (hex) of a bearer token.
///
/// ```yaml
/// tenants:
///   team-a: {passwordHash: "$2y$10$..."}
///   team-b: {tokenSHA256: "9f86d081884c7d65..."}
/// ```
struct TenantCredentials: Sendable {
    var passwords: [String: String] = [:]
    /// Token digest (lowercase hex) → tenant.
    var tokens: [String: String] = [:]

    private struct File: Decodable {
        struct Entry: Decodable {
            var passwordHash: String?
            var tokenSHA256: String?
        }
        var tenants: [String: Entry]
    }

    static func load(path: String) throws -> TenantCredentials {
        func fail(_ reason: String) -> ConfigError { ConfigError(file: path, key: "", reason: reason) }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw fail("cannot read the tenants file") }
        let file: File
        do { file = try YAMLDecoder().decode(File.self, from: text) } catch {
            throw fail("expected `tenants:` mapping tenant IDs to passwordHash/tokenSHA256: \(error)")
        }
        var out = TenantCredentials()
        for (tenant, entry) in file.tenants {
            let key = "tenants.\(tenant)"
            do { try TenantID.validate(tenant) } catch {
                throw ConfigError(file: path, key: key, reason: "invalid tenant ID: \(error)")
            }
            if entry.passwordHash == nil, entry.tokenSHA256 == nil {
                throw ConfigError(file: path, key: key, reason: "needs passwordHash or tokenSHA256")
            }
            if let hash = entry.passwordHash {
                guard hash.hasPrefix("$2"), hash.utf8.count == 60 else {
                    throw ConfigError(file: path, key: key + ".passwordHash", reason: "not a bcrypt hash ($2a$/$2b$/$2y$, 60 characters)")
                }
                out.passwords[tenant] = hash
            }
            if let digest = entry.tokenSHA256?.lowercased() {
                guard digest.utf8.count == 64, digest.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
                    throw ConfigError(file: path, key: key + ".tokenSHA256", reason: "expected 64 hex digits")
                }
                if let other = out.tokens[digest] {
                    throw ConfigError(file: path, key: key + ".tokenSHA256", reason: "same token as tenant \(other)")
                }
                out.tokens[digest] = tenant
            }
        }
        return out
    }
}
