import Hummingbird
import NIOCore

/// The request context of every node endpoint: Hummingbird's core context plus
/// the peer's address, which decides who may call the admin endpoints.
struct NodeRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// True when the peer is on this machine (127.0.0.0/8, ::1, or IPv4-mapped loopback).
    var isLoopback: Bool {
        guard let address = remoteAddress else { return false }
        switch address {
        case .v4(let a):
            return UInt32(bigEndian: a.address.sin_addr.s_addr) >> 24 == 127
        case .v6(let a):
            let bytes = withUnsafeBytes(of: a.address.sin6_addr) { Array($0) }
            if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
            let mapped = bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF
            return mapped && bytes[12] == 127
        case .unixDomainSocket:
            return true
        }
    }
}

typealias NodeRouter = Router<NodeRequestContext>
