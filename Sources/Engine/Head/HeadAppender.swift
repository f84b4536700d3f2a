import Formats

extension Head {
    /// Durability hand-off of a commit: positions to wait for outside the lock.
    struct Logged: Sendable {
        var wal: UInt64?
        var wbl: UInt64?
    }

    /// Validates every sample, writes the accepted ones to the WAL (series records
    /// first) and the WBL, then applies them — all under the head lock, so what
    /// the WAL holds and what readers see never diverge. Rejected samples change
    /// nothing: a series none of whose samples is accepted is not created. When
    /// the WAL write fails nothing is applied; when only the WBL write fails the
    /// in-order part is applied and the WBL's error is thrown.
    func commit(
        _ batch: AppendBatch, limits: TenantLimits, now: Int64,
        wal: WAL?, wbl: WAL?
    ) throws -> (AppendOutcome, Logged) {
        lock.lock()
        defer { lock.unlock() }
        var appender = HeadAppender(head: self, batch: batch, limits: limits, now: now, scratch: appendScratch)
        appendScratch = HeadAppender.Scratch()
        defer { appendScratch = appender.finish() }

        try appender.resolve()
        appender.validate()
        var logged = Logged()
        let records = appender.walRecords()
        if let wal, !records.isEmpty { logged.wal = try wal.write(records) }
        // The WAL write is the commit point: replay recreates these series under
        // these refs, so the head must hold them now whatever happens to the WBL
        // write (a later commit would otherwise hand the refs to other label sets).
        appender.applyInOrder()
        if let wbl, let record = appender.wblRecord() {
            // On failure the out-of-order samples are not stored and the commit is
            // not acknowledged; a retry finds the in-order part already stored
            // (exact repeats are ignored) and stores the rest.
            logged.wbl = try wbl.write([record])
        }
        appender.applyOutOfOrder()
        return (appender.outcome, logged)
    }
}

/// One commit of an `AppendBatch`, run by `Head.commit` under the head lock in
/// four steps: **resolve** finds the series each entry names; **validate**
/// decides every sample (limits, time bounds, order, out-of-order window) and
/// plans the series to create; **log** encodes what was accepted as WAL and WBL
/// records; **apply** creates the series and stores the samples. Nothing
/// changes in the head before apply, so a failed WAL write leaves it as it was.
struct HeadAppender {
    /// The series a batch entry names, found before any sample is looked at.
    enum Target {
        /// A live series of the head.
        case series(Int)
        /// Labels the head does not hold: the series is created on its first
        /// accepted sample, unless an earlier entry of the batch planned it.
        case new(Labels)
    }

    /// Commit-local bookkeeping kept by the head between commits, so a commit
    /// allocates nothing per series or sample for it once batches stop growing.
    struct Scratch {
        var targets: [Target] = []
        /// Newest sample per existing series as the batch goes (a series named
        /// by several entries sees the samples of the earlier ones), at the
        /// slot `slots` gives its id.
        var slots = BatchSlots()
        var newest: [(t: Int64, v: UInt64)] = []
    }

    /// A series the commit creates once the WAL holds it.
    private struct NewSeries {
        var labels: Labels
        var ref: UInt64
    }

    private let head: Head
    private let batch: AppendBatch
    private let limits: TenantLimits
    private var scratch: Scratch
    private(set) var outcome = AppendOutcome()

    // Bounds of validate, fixed for the commit: even with a grace period off,
    // the head takes only what a block can hold.
    private let storable: ClosedRange<Int64>
    private let future: Int64
    private let past: Int64
    /// The head's newest sample time, including what the batch accepted so far.
    private var headMax: Int64
    /// The id the first planned series gets: series are created after the head's last.
    private let firstNewID: Int

    // What validate accepted, in batch order.
    private var created: [NewSeries] = []
    private var createdIndex: [Labels: Int] = [:]
    private var createdPerMetric: [String: Int] = [:]
    private var createdPairs = 0
    private var createdBytes = 0
    private var createdNewest: [Int: (t: Int64, v: UInt64)] = [:]
    /// In-order samples: series ref (for the WAL) and id (for apply; planned
    /// series get the ids after the head's last), time and value bits.
    private var inRefs: [UInt64] = []
    private var inIDs: [UInt32] = []
    private var inTimes: [Int64] = []
    private var inValues: [UInt64] = []
    private var late: [(id: Int, ref: UInt64, sample: Sample)] = []

    init(head: Head, batch: AppendBatch, limits: TenantLimits, now: Int64, scratch: Scratch) {
        self.head = head
        self.batch = batch
        self.limits = limits
        self.scratch = scratch
        storable = head.storableTimeRange
        future = min(limits.creationGracePeriod > 0 ? now.saturatingAdd(limits.creationGracePeriod) : .max, storable.upperBound)
        past = max(limits.pastGracePeriod > 0 ? now.saturatingSub(limits.pastGracePeriod) : .min, storable.lowerBound)
        headMax = head.maxTime
        firstNewID = head.refs.count
        outcome.refs = [UInt64](repeating: 0, count: batch.entries.count)
        inRefs.reserveCapacity(batch.sampleCount)
        inIDs.reserveCapacity(batch.sampleCount)
        inTimes.reserveCapacity(batch.sampleCount)
        inValues.reserveCapacity(batch.sampleCount)
    }

    /// Hands the scratch back, without the labels it held.
    mutating func finish() -> Scratch {
        scratch.targets.removeAll(keepingCapacity: true)
        return scratch
    }

    // MARK: - Resolve

    /// Finds the live series of every entry: by raw label bytes, by labels, or
    /// by ref (an unknown ref fails the whole commit). Entries whose labels
    /// the head does not hold get their labels as values.
    mutating func resolve() throws {
        let entries = batch.entries
        scratch.targets.removeAll(keepingCapacity: true)
        scratch.targets.reserveCapacity(entries.count)
        let head = self.head, batch = self.batch
        var near: (ref: UInt64, id: Int) = (0, -1)
        // Nothing is interned until apply, so one symbol reader serves every lookup.
        try batch.labelBytes.withUnsafeBufferPointer { bytes in
            try batch.spans.withUnsafeBufferPointer { spans in
                try head.symbols.withReader { symbols in
                    for entry in entries {
                        scratch.targets.append(try Self.target(of: entry, head, batch, bytes, spans, symbols, &near))
                    }
                }
            }
        }
    }

    private static func target(
        of entry: AppendBatch.Entry, _ head: Head, _ batch: AppendBatch,
        _ bytes: UnsafeBufferPointer<UInt8>, _ spans: UnsafeBufferPointer<AppendBatch.LabelSpan>,
        _ symbols: SymbolTable.Reader, _ near: inout (ref: UInt64, id: Int)
    ) throws -> Target {
        if !entry.spans.isEmpty {
            if let id = head.lookup(bytes: bytes, spans: UnsafeBufferPointer(rebasing: spans[entry.spans]), symbols: symbols) {
                return .series(id)
            }
            return .new(batch.labels(ofSpans: entry.spans))
        }
        if let labels = entry.labels {
            return head.lookup(labels).map(Target.series) ?? .new(labels)
        }
        // Refs an earlier commit returned come mostly in the same order.
        guard let id = head.liveID(ref: entry.ref, near: near) else { throw UnknownSeriesRefError(ref: entry.ref) }
        near = (entry.ref, id)
        return .series(id)
    }

    // MARK: - Validate

    /// Decides every sample of the batch, in order.
    mutating func validate() {
        scratch.slots.reset(entries: batch.entries.count)
        scratch.newest.removeAll(keepingCapacity: true)
        let samples = batch.samples
        samples.withUnsafeBufferPointer { samples in
            for index in batch.entries.indices { validate(entry: index, samples) }
        }
    }

    private mutating func validate(entry index: Int, _ samples: UnsafeBufferPointer<Sample>) {
        let range = batch.entries[index].range
        var id: Int?
        /// Index in `created` of the series this entry will create.
        var pending: Int?
        switch scratch.targets[index] {
        case .series(let i):
            id = i
        case .new(let labels):
            pending = createdIndex[labels]
            if pending == nil, let problem = labelProblem(labels) {
                for k in range { reject(problem.0, index, samples[k].timestamp, problem.1) }
                return
            }
        }
        var ref = id.map { head.refs[$0] } ?? pending.map { created[$0].ref }
        var current: (t: Int64, v: UInt64)?
        var found: (bucket: Int, slot: Int?) = (0, nil)
        if let id {
            found = scratch.slots.find(id)
            current = found.slot.map { scratch.newest[$0] } ?? head.newest(id)
        } else if let pending {
            current = createdNewest[pending]
        }

        for k in range {
            let s = samples[k]
            let t = s.timestamp, v = s.value.bitPattern
            guard withinGracePeriods(t, index) else { continue }
            if let cur = current, t <= cur.t {
                notNewer(s, than: cur, id, ref, index)
                continue
            }
            let minValid = max(head.minValidTime, headMax.saturatingSub(head.chunkRange / 2))
            if t < minValid {
                reject(.tooOld, index, t, "older than the head's minimum valid time \(minValid)")
                continue
            }
            if id == nil, pending == nil {
                // First accepted sample of a new series: the series limits apply now.
                guard let planned = planSeries(index, t) else { continue }
                pending = planned
                ref = created[planned].ref
            }
            inRefs.append(ref!)
            inIDs.append(UInt32(id ?? firstNewID + pending!))
            inTimes.append(t)
            inValues.append(v)
            current = (t, v)
            headMax = max(headMax, t)
            outcome.accepted += 1
        }
        if let current {
            if let id {
                if let slot = found.slot {
                    scratch.newest[slot] = current
                } else {
                    scratch.slots.set(bucket: found.bucket, id: id, slot: scratch.newest.count)
                    scratch.newest.append(current)
                }
            } else if let pending {
                createdNewest[pending] = current
            }
        }
        outcome.refs[index] = ref ?? 0
    }

    /// Rejects a sample too far ahead of or behind the wall clock.
    private mutating func withinGracePeriods(_ t: Int64, _ index: Int) -> Bool {
        // Messages read copies: `reject` has `self` exclusively.
        let storable = self.storable
        if t > future {
            let grace = limits.creationGracePeriod
            reject(
                .tooFarInFuture, index, t,
                t > storable.upperBound
                    ? "timestamp is past the last block range that fits in Int64"
                    : "timestamp is more than \(grace / 1000)s ahead of the wall clock")
            return false
        }
        if t < past {
            let grace = limits.pastGracePeriod
            reject(
                .tooFarInPast, index, t,
                t < storable.lowerBound
                    ? "timestamp is before the first block range that fits in Int64"
                    : "timestamp is more than \(grace / 1000)s behind the wall clock")
            return false
        }
        return true
    }

    /// Decides a sample no newer than the series' newest `cur`: an exact repeat
    /// is ignored, a late one inside the out-of-order window is accepted as
    /// out-of-order, anything else is rejected.
    private mutating func notNewer(_ s: Sample, than cur: (t: Int64, v: UInt64), _ id: Int?, _ ref: UInt64?, _ index: Int) {
        let t = s.timestamp, v = s.value.bitPattern
        if t == cur.t {
            if v == cur.v {
                outcome.duplicatesIgnored += 1
            } else {
                reject(.duplicateTimestamp, index, t, "a different value is already stored at this timestamp")
            }
            return
        }
        let windowStart = headMax.saturatingSub(limits.outOfOrderWindow)
        if limits.outOfOrderWindow > 0, let id, let ref, t >= windowStart {
            if let stored = late.first(where: { $0.id == id && $0.sample.timestamp == t })?.sample ?? head.storedSample(id, at: t) {
                if stored.value.bitPattern == v {
                    outcome.duplicatesIgnored += 1
                } else {
                    reject(.duplicateTimestamp, index, t, "a different value is already stored at this timestamp")
                }
                return
            }
            late.append((id, ref, s))
            outcome.outOfOrder += 1
            outcome.accepted += 1
            return
        }
        let window = limits.outOfOrderWindow
        if window > 0 {
            reject(.tooOld, index, t, "older than the out-of-order window of \(window / 1000)s behind the newest sample")
        } else {
            reject(.outOfOrder, index, t, "older than the series' newest sample at \(cur.t)")
        }
    }

    /// Plans the creation of the entry's new series under the next free ref,
    /// or rejects the sample `t` when a series limit or the head's index is
    /// full. Returns the series' index in `created`.
    private mutating func planSeries(_ index: Int, _ t: Int64) -> Int? {
        let limits = self.limits
        guard case .new(let labels) = scratch.targets[index] else { preconditionFailure("planned an existing series") }
        if limits.maxSeries > 0, head.seriesCount + created.count >= limits.maxSeries {
            reject(.maxSeries, index, t, "the tenant has reached its limit of \(limits.maxSeries) series")
            return nil
        }
        let metric = labels["__name__"] ?? ""
        if limits.maxSeriesPerMetric > 0,
            head.seriesCount(metric: metric) + createdPerMetric[metric, default: 0] >= limits.maxSeriesPerMetric
        {
            reject(.maxSeriesPerMetric, index, t, "metric \(metric) has reached its limit of \(limits.maxSeriesPerMetric) series")
            return nil
        }
        let pairs = createdPairs + labels.labels.count
        let bytes = labels.labels.reduce(createdBytes) { $0 + $1.name.utf8.count + $1.value.utf8.count }
        let ref = head.lastRef + UInt64(created.count) + 1
        if let problem = head.indexProblem(newestRef: ref, newSeries: created.count + 1, labelPairs: pairs, bytes: bytes) {
            reject(.headIndexFull, index, t, problem)
            return nil
        }
        createdPairs = pairs
        createdBytes = bytes
        createdPerMetric[metric, default: 0] += 1
        createdIndex[labels] = created.count
        created.append(NewSeries(labels: labels, ref: ref))
        return created.count - 1
    }

    /// A label-set limit the series breaks, checked before it is created.
    private func labelProblem(_ labels: Labels) -> (RejectionReason, String)? {
        if limits.maxLabelNamesPerSeries > 0, labels.labels.count > limits.maxLabelNamesPerSeries {
            return (.maxLabelNames, "\(labels.labels.count) label names, more than the limit of \(limits.maxLabelNamesPerSeries)")
        }
        for l in labels.labels {
            if limits.maxLabelNameLength > 0, l.name.utf8.count > limits.maxLabelNameLength {
                return (.labelNameTooLong, "label name \(l.name.prefix(64))… is \(l.name.utf8.count) bytes, more than \(limits.maxLabelNameLength)")
            }
            if limits.maxLabelValueLength > 0, l.value.utf8.count > limits.maxLabelValueLength {
                return (.labelValueTooLong, "value of label \(l.name) is \(l.value.utf8.count) bytes, more than \(limits.maxLabelValueLength)")
            }
        }
        return nil
    }

    /// Counts a rejected sample of entry `index`; the first one is kept with
    /// its labels for the error message.
    private mutating func reject(_ reason: RejectionReason, _ index: Int, _ t: Int64, _ detail: @autoclosure () -> String) {
        outcome.rejected[reason, default: 0] += 1
        if outcome.firstRejection == nil {
            let labels: Labels
            switch scratch.targets[index] {
            case .series(let id): labels = batch.entries[index].labels ?? head.labels(of: id)
            case .new(let l): labels = l
            }
            outcome.firstRejection = Rejection(reason: reason, labels: labels, timestamp: t, detail: detail())
        }
    }

    // MARK: - Log

    /// The WAL records of what validate accepted: series records precede the
    /// samples that use them.
    func walRecords() -> [[UInt8]] {
        var records: [[UInt8]] = []
        if !created.isEmpty {
            records.append(WALRecord.series(created.map { WALSeries(ref: $0.ref, labels: $0.labels) }).encoded())
        }
        if !inRefs.isEmpty { records.append(WALRecord.encodeSamples(refs: inRefs, timestamps: inTimes, values: inValues)) }
        return records
    }

    /// The WBL record of the accepted out-of-order samples, if any.
    func wblRecord() -> [UInt8]? {
        if late.isEmpty { return nil }
        return WALRecord.samples(late.map { WALSample(ref: $0.ref, timestamp: $0.sample.timestamp, value: $0.sample.value) }).encoded()
    }

    // MARK: - Apply

    /// Creates the planned series and stores the in-order samples.
    mutating func applyInOrder() {
        for series in created { head.createSeries(ref: series.ref, labels: series.labels) }
        outcome.seriesCreated = created.count
        for i in inIDs.indices { head.appendInOrder(Int(inIDs[i]), inTimes[i], inValues[i]) }
    }

    /// Stores the out-of-order samples.
    func applyOutOfOrder() {
        for s in late { _ = head.appendOutOfOrder(s.id, s.sample) }
    }
}
