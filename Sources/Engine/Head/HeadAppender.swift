import Formats

/// What a commit did with each sample.
public struct AppendOutcome: Sendable, Equatable {
    /// Samples stored (in order or out of order).
    public var accepted = 0
    /// Of those, samples stored as out-of-order.
    public var outOfOrder = 0
    /// Exact repeats of a stored sample (same time and value): harmless, not stored.
    public var duplicatesIgnored = 0
    public var rejected: [RejectionReason: Int] = [:]
    /// The first rejected sample, for the error message.
    public var firstRejection: Rejection?
    /// Per batch entry, the series ref (0 when the series was not created).
    public var refs: [UInt64] = []
    public var seriesCreated = 0

    public var rejectedCount: Int { rejected.values.reduce(0, +) }

    public init() {}
}

/// A batch entry named a ref this head never handed out (or that was removed).
public struct UnknownSeriesRefError: Error, CustomStringConvertible {
    public var ref: UInt64
    public var description: String { "unknown series ref \(ref)" }
}

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
    func commit(_ batch: AppendBatch, limits: TenantLimits, now: Int64,
                wal: WAL?, wbl: WAL?) throws -> (AppendOutcome, Logged) {
        lock.lock()
        defer { lock.unlock() }
        var outcome = AppendOutcome()
        outcome.refs = [UInt64](repeating: 0, count: batch.entries.count)

        struct NewSeries { var labels: Labels; var ref: UInt64 }
        var created: [NewSeries] = []
        var createdIndex: [Labels: Int] = [:]
        var createdPerMetric: [String: Int] = [:]
        var createdPairs = 0, createdBytes = 0
        var inRefs: [UInt64] = [], inTimes: [Int64] = [], inValues: [UInt64] = []
        inRefs.reserveCapacity(batch.sampleCount)
        inTimes.reserveCapacity(batch.sampleCount)
        inValues.reserveCapacity(batch.sampleCount)
        var late: [(id: Int, ref: UInt64, sample: Sample)] = []
        // Newest sample per series as the batch goes: a series named by several
        // entries sees the samples of the earlier ones.
        batchSlots.reset(entries: batch.entries.count)
        var slots: [(t: Int64, v: UInt64)] = []
        var createdNewest: [Int: (t: Int64, v: UInt64)] = [:]
        var headMax = maxTime
        // Even with a grace period off, the head takes only what a block can hold.
        let storable = storableTimeRange
        let future = min(limits.creationGracePeriod > 0 ? now.saturatingAdd(limits.creationGracePeriod) : .max, storable.upperBound)
        let past = max(limits.pastGracePeriod > 0 ? now.saturatingSub(limits.pastGracePeriod) : .min, storable.lowerBound)

        func reject(_ reason: RejectionReason, _ labels: @autoclosure () -> Labels, _ t: Int64, _ detail: @autoclosure () -> String) {
            outcome.rejected[reason, default: 0] += 1
            if outcome.firstRejection == nil {
                outcome.firstRejection = Rejection(reason: reason, labels: labels(), timestamp: t, detail: detail())
            }
        }

        // Entries without labels name an existing series: by ref, or by raw
        // bytes that were found (raw entries that were not get their labels).
        func labelsOf(_ entry: AppendBatch.Entry, _ id: Int?) -> Labels {
            entry.labels ?? labels(of: id!)
        }

        let entries = batch.entries, samples = batch.samples
        try entries.withUnsafeBufferPointer { entries in
        try samples.withUnsafeBufferPointer { samples in
        try batch.labelBytes.withUnsafeBufferPointer { labelBytes in
        try batch.spans.withUnsafeBufferPointer { spans in
        // Nothing is interned until the loop is over (new series are created
        // after logging), so one reader serves every lookup.
        try symbols.withReader { symbolReader in
        for index in entries.indices {
            var entry = entries[index]
            var id: Int?
            var pending: Int?
            if !entry.spans.isEmpty {
                id = lookup(bytes: labelBytes, spans: UnsafeBufferPointer(rebasing: spans[entry.spans]), symbols: symbolReader)
                if id == nil {
                    // A new series (or one created earlier in this batch): labels as values from here on.
                    entry.labels = batch.labels(ofSpans: entry.spans)
                    pending = createdIndex[entry.labels!]
                }
            } else if let l = entry.labels {
                id = lookup(l)
                if id == nil { pending = createdIndex[l] }
            } else {
                let i = Int(entry.ref) - 1
                guard entry.ref > 0, i < alive.count, alive[i] else { throw UnknownSeriesRefError(ref: entry.ref) }
                id = i
            }
            if id == nil, pending == nil, let problem = labelProblem(entry.labels!, limits) {
                for k in entry.range { reject(problem.0, labelsOf(entry, id), samples[k].timestamp, problem.1) }
                continue
            }
            var current: (t: Int64, v: UInt64)?
            var found: (bucket: Int, slot: Int?) = (0, nil)
            if let id {
                found = batchSlots.find(id)
                current = found.slot.map { slots[$0] } ?? self.newest(id)
            } else if let pending {
                current = createdNewest[pending]
            }

            for k in entry.range {
                let s = samples[k]
                let t = s.timestamp, v = s.value.bitPattern
                if t > future {
                    reject(.tooFarInFuture, labelsOf(entry, id), t, t > storable.upperBound
                           ? "timestamp is past the last block range that fits in Int64"
                           : "timestamp is more than \(limits.creationGracePeriod / 1000)s ahead of the wall clock")
                    continue
                }
                if t < past {
                    reject(.tooFarInPast, labelsOf(entry, id), t, t < storable.lowerBound
                           ? "timestamp is before the first block range that fits in Int64"
                           : "timestamp is more than \(limits.pastGracePeriod / 1000)s behind the wall clock")
                    continue
                }
                if let cur = current, t <= cur.t {
                    if t == cur.t {
                        if v == cur.v { outcome.duplicatesIgnored += 1 }
                        else { reject(.duplicateTimestamp, labelsOf(entry, id), t, "a different value is already stored at this timestamp") }
                        continue
                    }
                    let windowStart = headMax.saturatingSub(limits.outOfOrderWindow)
                    if limits.outOfOrderWindow > 0, let id, t >= windowStart {
                        if let stored = late.first(where: { $0.id == id && $0.sample.timestamp == t })?.sample ?? storedSample(id, at: t) {
                            if stored.value.bitPattern == v { outcome.duplicatesIgnored += 1 }
                            else { reject(.duplicateTimestamp, labelsOf(entry, id), t, "a different value is already stored at this timestamp") }
                            continue
                        }
                        late.append((id, UInt64(id + 1), s))
                        outcome.outOfOrder += 1
                        outcome.accepted += 1
                        continue
                    }
                    if limits.outOfOrderWindow > 0 {
                        reject(.tooOld, labelsOf(entry, id), t, "older than the out-of-order window of \(limits.outOfOrderWindow / 1000)s behind the newest sample")
                    } else {
                        reject(.outOfOrder, labelsOf(entry, id), t, "older than the series' newest sample at \(cur.t)")
                    }
                    continue
                }
                let minValid = max(minValidTime, headMax.saturatingSub(chunkRange / 2))
                if t < minValid {
                    reject(.tooOld, labelsOf(entry, id), t, "older than the head's minimum valid time \(minValid)")
                    continue
                }
                if id == nil, pending == nil {
                    // First accepted sample of a new series: the series limits apply now.
                    if limits.maxSeries > 0, seriesCount + created.count >= limits.maxSeries {
                        reject(.maxSeries, labelsOf(entry, id), t, "the tenant has reached its limit of \(limits.maxSeries) series")
                        continue
                    }
                    let metric = entry.labels!["__name__"] ?? ""
                    if limits.maxSeriesPerMetric > 0,
                       seriesCount(metric: metric) + createdPerMetric[metric, default: 0] >= limits.maxSeriesPerMetric {
                        reject(.maxSeriesPerMetric, labelsOf(entry, id), t, "metric \(metric) has reached its limit of \(limits.maxSeriesPerMetric) series")
                        continue
                    }
                    let newLabels = entry.labels!.labels
                    let pairs = createdPairs + newLabels.count
                    let bytes = newLabels.reduce(createdBytes) { $0 + $1.name.utf8.count + $1.value.utf8.count }
                    if let problem = indexProblem(newestRef: lastRef + UInt64(created.count) + 1, labelPairs: pairs, bytes: bytes) {
                        reject(.headIndexFull, labelsOf(entry, id), t, problem)
                        continue
                    }
                    createdPairs = pairs
                    createdBytes = bytes
                    createdPerMetric[metric, default: 0] += 1
                    pending = created.count
                    createdIndex[entry.labels!] = created.count
                    created.append(NewSeries(labels: entry.labels!, ref: lastRef + UInt64(created.count) + 1))
                }
                let ref = id.map { UInt64($0 + 1) } ?? created[pending!].ref
                inRefs.append(ref)
                inTimes.append(t)
                inValues.append(v)
                current = (t, v)
                headMax = max(headMax, t)
                outcome.accepted += 1
            }
            if let current {
                if let id {
                    if let slot = found.slot { slots[slot] = current }
                    else { batchSlots.set(bucket: found.bucket, id: id, slot: slots.count); slots.append(current) }
                } else if let pending {
                    createdNewest[pending] = current
                }
            }
            outcome.refs[index] = id.map { UInt64($0 + 1) } ?? pending.map { created[$0].ref } ?? 0
        }
        }
        }
        }
        }
        }

        // Log before applying: series records precede the samples that use them.
        var logged = Logged()
        var records: [[UInt8]] = []
        if !created.isEmpty {
            records.append(WALRecord.series(created.map { WALSeries(ref: $0.ref, labels: $0.labels) }).encoded())
        }
        if !inRefs.isEmpty { records.append(WALRecord.encodeSamples(refs: inRefs, timestamps: inTimes, values: inValues)) }
        if let wal, !records.isEmpty { logged.wal = try wal.write(records) }
        // The WAL write is the commit point: replay recreates these series under
        // these refs, so the head must hold them now whatever happens to the WBL
        // write (a later commit would otherwise hand the refs to other label sets).
        for series in created { createSeries(ref: series.ref, labels: series.labels) }
        outcome.seriesCreated = created.count
        for i in inRefs.indices { appendInOrder(Int(inRefs[i] - 1), inTimes[i], inValues[i]) }
        if let wbl, !late.isEmpty {
            // On failure the out-of-order samples are not stored and the commit is
            // not acknowledged; a retry finds the in-order part already stored
            // (exact repeats are ignored) and stores the rest.
            logged.wbl = try wbl.write([WALRecord.samples(late.map { WALSample(ref: $0.ref, timestamp: $0.sample.timestamp, value: $0.sample.value) }).encoded()])
        }
        for s in late { _ = appendOutOfOrder(s.id, s.sample) }
        return (outcome, logged)
    }

    /// A label-set limit the series breaks, checked before it is created.
    private func labelProblem(_ labels: Labels, _ limits: TenantLimits) -> (RejectionReason, String)? {
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
}
