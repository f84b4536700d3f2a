import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Persistent TCP connections between gossip members: one outbound
/// connection per peer address, reused for every message (dskit opens one
/// per packet and fills conntrack tables, dskit #193). Each message is framed
/// by a 4-byte big-endian length; frames above `maxMessageBytes` close the
/// connection. A reply (push/pull answer, ack) goes back on the connection
/// the request came on.
package final class GossipTransport: Sendable {
    package struct Options: Sendable {
        package var maxMessageBytes = 10 << 20
        package var connectTimeoutMillis: Int64 = 500
        /// Bytes that may wait in one connection's send buffer; past it,
        /// messages to that peer are dropped (gossip repeats itself) instead
        /// of queueing without bound behind a stalled peer.
        package var maxBufferedBytes = 4 << 20
        /// Test-only fault injection: the share of outgoing messages dropped
        /// at random (`--gossip.test-drop-rate`).
        package var dropRate = 0.0

        package init() {}
    }

    package struct Counters: Sendable {
        package var messagesSent = 0
        package var bytesSent = 0
        package var messagesReceived = 0
        package var bytesReceived = 0
        package var messagesDropped = 0
        package var invalidMessages = 0
        package var connectFailures = 0
    }

    /// Handles a decoded message; returns the reply to write back.
    package typealias Handler = @Sendable (GossipMessage) -> GossipMessage?

    let group: any EventLoopGroup
    let options: Options
    let logger: Logger
    private let handler: NIOLockedValueBox<Handler?> = .init(nil)
    private let connections: NIOLockedValueBox<[String: EventLoopFuture<any Channel>]> = .init([:])
    private let counters: NIOLockedValueBox<Counters> = .init(Counters())
    private let listener: NIOLockedValueBox<(any Channel)?> = .init(nil)

    package init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, options: Options, logger: Logger) {
        self.group = group
        self.options = options
        self.logger = logger
    }

    package var stats: Counters { counters.withLockedValue { $0 } }

    /// Starts listening; returns the bound port (useful with port 0).
    package func listen(host: String, port: Int, handler: @escaping Handler) async throws -> Int {
        self.handler.withLockedValue { $0 = handler }
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 128)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.addHandlers(channel) }
            }
            .bind(host: host, port: port).get()
        listener.withLockedValue { $0 = channel }
        return channel.localAddress?.port ?? port
    }

    private func addHandlers(_ channel: any Channel) throws {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxBytes: options.maxMessageBytes)))
        try channel.pipeline.syncOperations.addHandler(MessageHandler(transport: self))
    }

    /// Sends `message` to `address` over the pooled connection, opening it if
    /// needed. Succeeds once the bytes are handed to the kernel.
    package func send(_ message: GossipMessage, to address: String) async throws {
        if options.dropRate > 0, Double.random(in: 0..<1) < options.dropRate {
            counters.withLockedValue { $0.messagesDropped += 1 }
            return
        }
        let frame = frame(message)
        let channel = try await connection(to: address)
        guard channel.isWritable else {
            counters.withLockedValue { $0.messagesDropped += 1 }
            return
        }
        do {
            try await channel.writeAndFlush(frame)
        } catch {
            drop(address, channel)
            throw error
        }
        counters.withLockedValue {
            $0.messagesSent += 1
            $0.bytesSent += frame.readableBytes
        }
    }

    /// Writes a reply on the connection a request came in on.
    func reply(_ message: GossipMessage, on context: ChannelHandlerContext) {
        if options.dropRate > 0, Double.random(in: 0..<1) < options.dropRate {
            counters.withLockedValue { $0.messagesDropped += 1 }
            return
        }
        let frame = frame(message)
        counters.withLockedValue {
            $0.messagesSent += 1
            $0.bytesSent += frame.readableBytes
        }
        context.writeAndFlush(NIOAny(frame), promise: nil)
    }

    private func frame(_ message: GossipMessage) -> ByteBuffer {
        let bytes = GossipCodec.encode(message)
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count + 4)
        buffer.writeInteger(UInt32(truncatingIfNeeded: bytes.count))
        buffer.writeBytes(bytes)
        return buffer
    }

    private func connection(to address: String) async throws -> any Channel {
        let future: EventLoopFuture<any Channel> = connections.withLockedValue { pool in
            if let existing = pool[address] { return existing }
            let opened = open(address)
            pool[address] = opened
            return opened
        }
        do {
            let channel = try await future.get()
            if channel.isActive { return channel }
            drop(address, channel)
        } catch {
            connections.withLockedValue { pool in
                if pool[address] === future { pool[address] = nil }
            }
            counters.withLockedValue { $0.connectFailures += 1 }
            throw error
        }
        return try await connection(to: address)
    }

    private func open(_ address: String) -> EventLoopFuture<any Channel> {
        guard let (host, port) = Self.split(address) else {
            return group.next().makeFailedFuture(GossipAddressError(address: address))
        }
        return ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(options.connectTimeoutMillis))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.writeBufferWaterMark, value: .init(low: options.maxBufferedBytes / 2, high: options.maxBufferedBytes))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.addHandlers(channel) }
            }
            .connect(host: host, port: port)
    }

    private func drop(_ address: String, _ channel: any Channel) {
        connections.withLockedValue { $0[address] = nil }
        channel.close(promise: nil)
    }

    /// `host:port`, with `[v6]:port` too.
    package static func split(_ address: String) -> (String, Int)? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        var host = String(address[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        return (host, port)
    }

    func received(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        let size = bytes.readableBytes
        let decoded: GossipMessage
        do {
            decoded = try bytes.withUnsafeReadableBytes { raw in
                try GossipCodec.decode(UnsafeBufferPointer(start: raw.bindMemory(to: UInt8.self).baseAddress, count: raw.count))
            }
        } catch {
            counters.withLockedValue { $0.invalidMessages += 1 }
            logger.warning(
                "dropping an invalid gossip message",
                metadata: ["from": "\(context.remoteAddress.map { "\($0)" } ?? "?")", "error": "\(error)"])
            return
        }
        counters.withLockedValue {
            $0.messagesReceived += 1
            $0.bytesReceived += size + 4
        }
        if let handle = handler.withLockedValue({ $0 }), let answer = handle(decoded) {
            reply(answer, on: context)
        }
    }

    /// Closes every connection and the listener.
    package func shutdown() async {
        let channels = connections.withLockedValue { pool in
            defer { pool = [:] }
            return Array(pool.values)
        }
        for future in channels { try? await future.get().close() }
        if let channel = listener.withLockedValue({ $0 }) { try? await channel.close() }
    }
}

package struct GossipAddressError: Error, CustomStringConvertible {
    package let address: String
    package var description: String { "gossip address \(address) is not host:port" }
}

/// Splits the stream into length-prefixed frames, refusing oversized ones.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maxBytes: Int

    struct FrameTooLarge: Error, CustomStringConvertible {
        let size: Int
        let limit: Int
        var description: String { "gossip frame of \(size) bytes exceeds the limit of \(limit)" }
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard Int(length) <= maxBytes else { throw FrameTooLarge(size: Int(length), limit: maxBytes) }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        guard let frame = buffer.readSlice(length: Int(length)) else { return .needMoreData }
        context.fireChannelRead(NIOAny(frame))
        return .continue
    }
}

/// Hands decoded frames to the transport; closes the connection on errors.
final class MessageHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let transport: GossipTransport

    init(transport: GossipTransport) { self.transport = transport }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        transport.received(unwrapInboundIn(data), context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        transport.logger.debug("gossip connection closed", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
