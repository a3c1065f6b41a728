import Foundation
import LoomIPC
import LoomSystem
import LoomValues

/// Live updates for browsers: each SSE response is fed by its own `watch` stream on loomd's
/// socket, read on a thread of its own (the IPC client blocks).
///
/// Bounded on every side: at most `eventStreamsMax` streams at once (one more is refused),
/// a heartbeat every `heartbeatSeconds` (the watch is read with that idle timeout, so a
/// silent task still wakes the thread, which then notices a closed tab and stops), events
/// cut to a few KiB, and a small buffer between the thread and the response (a browser that
/// stops reading loses old events, never grows memory).
public final class EventStreamHub: @unchecked Sendable {
    public let limits: DashboardLimits
    public let socketPath: String
    private let lock = Lock()
    private var open = 0
    private var running: [ObjectIdentifier: (stop: StopFlag, continuation: AsyncStream<String>.Continuation)] = [:]

    /// Longest summary sent in one event.
    static let summaryCharactersMax = 2_000
    /// Events buffered per stream between the watch thread and the HTTP response.
    static let bufferedEventsMax = 256

    public init(socketPath: String, limits: DashboardLimits) {
        self.socketPath = socketPath
        self.limits = limits
    }

    public var openCount: Int { lock.withLock { open } }

    /// Reserves a stream slot; nil when all are taken. The slot is given back when released
    /// or, at the latest, when the last reference to it goes (a response body that was never
    /// written still frees its slot).
    public func acquire() -> Slot? {
        let granted = lock.withLock {
            guard open < limits.eventStreamsMax else { return false }
            open += 1
            return true
        }
        return granted ? Slot(hub: self) : nil
    }

    fileprivate func giveBack() {
        lock.withLock { open = max(0, open - 1) }
    }

    /// One reserved stream.
    public final class Slot: @unchecked Sendable {
        private let hub: EventStreamHub
        private let lock = Lock()
        private var released = false

        fileprivate init(hub: EventStreamHub) { self.hub = hub }

        public func release() {
            let first = lock.withLock {
                defer { released = true }
                return !released
            }
            if first { hub.giveBack() }
        }

        deinit { release() }
    }

    /// Ends every open stream at once (at shutdown): each response finishes now, so a
    /// graceful shutdown is not held open; the watch threads end at their next wake-up.
    public func stopAll() {
        let all = lock.withLock { Array(running.values) }
        for stream in all {
            stream.stop.set()
            stream.continuation.finish()
        }
    }

    /// A flag the HTTP side sets when the browser is gone; the watch thread reads it.
    final class StopFlag: @unchecked Sendable {
        private let lock = Lock()
        private var stopped = false
        var isSet: Bool { lock.withLock { stopped } }
        func set() { lock.withLock { stopped = true } }
    }

    /// Starts the watch thread; its SSE text chunks come out of the returned stream, which
    /// ends when `stop` is set (after at most one heartbeat interval).
    func start(project: String, task: String, after: Int64, stop: StopFlag) -> AsyncStream<String> {
        start(watching: Watch.Params(project: project, task: task), label: task, after: after, stop: stop)
    }

    /// The fleet's stream: a `changed` event whenever any task of any project moves.
    func startFleet(stop: StopFlag) -> AsyncStream<String> {
        start(watching: Watch.Params(fleet: true), label: "the fleet", after: nil, stop: stop)
    }

    /// `params` are the watch's; `after` resumes a task's journal after a reconnect (nil:
    /// a stream with no journal to resume, the fleet's).
    private func start(
        watching params: Watch.Params,
        label: String,
        after: Int64?,
        stop: StopFlag
    ) -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream(
            bufferingPolicy: .bufferingNewest(Self.bufferedEventsMax)
        )
        lock.withLock { running[ObjectIdentifier(stop)] = (stop, continuation) }
        continuation.onTermination = { [weak self] _ in
            stop.set()
            self?.lock.withLock { _ = self?.running.removeValue(forKey: ObjectIdentifier(stop)) }
        }
        let socketPath = self.socketPath
        let heartbeatMs = max(1, limits.heartbeatSeconds) * 1_000
        let thread = Thread {
            var lastSeq = after ?? 0
            continuation.yield("retry: 3000\n: watching \(label)\n\n")
            while !stop.isSet {
                let started = DispatchTime.now().uptimeNanoseconds
                do {
                    // A stop at shutdown must not wait for the next heartbeat to end the
                    // response: it is checked before every (re)connect and on every event.
                    let client = try IPCClient(
                        socketPath: socketPath,
                        clientName: DaemonGateway.clientName,
                        timeoutMs: heartbeatMs
                    )
                    client.streamIdleTimeoutMs = heartbeatMs
                    var watch = params
                    if after != nil { watch.after = lastSeq }
                    _ = try client.stream(Watch.self, watch) { event in
                        if stop.isSet { return false }
                        if let seq = event["seq"]?.intValue { lastSeq = max(lastSeq, seq) }
                        continuation.yield(Self.sse(event))
                        return true
                    }
                    client.close()
                } catch {
                    // An idle timeout (the usual case) or a daemon that went away: beat, and
                    // after a real failure wait a little before watching again.
                }
                if stop.isSet { break }
                continuation.yield(": heartbeat\n\n")
                let elapsedMs = Int((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)
                if elapsedMs < heartbeatMs / 2 { Thread.sleep(forTimeInterval: 1) }
            }
            continuation.finish()
        }
        thread.name = "loom-web watch \(label)"
        thread.start()
        return stream
    }

    /// One journal entry as an SSE `entry` event, with the columns the timeline shows; an
    /// agent's streamed output (loomd's `progress` events, which have no seq) as `progress`.
    static func sse(_ entry: JSONValue) -> String {
        if entry["kind"]?.stringValue == "changed" {
            let data = JSONValue.object([
                "project": entry["project"] ?? .null, "task": entry["task"] ?? .null,
                "status": entry["status"] ?? .null,
            ]).canonicalText
            return "event: changed\ndata: \(data)\n\n"
        }
        if entry["kind"]?.stringValue == "progress" {
            let data = JSONValue.object([
                "key": .string(entry["key"]?.stringValue ?? ""), "unit": .string(entry["unit"]?.stringValue ?? ""),
                "text": .string(Redactor.redact(entry["text"]?.stringValue ?? "")),
            ]).canonicalText
            return "event: progress\ndata: \(data)\n\n"
        }
        let row = TaskPage.timelineRow(entry)
        let data = JSONValue.object([
            "seq": .int(entry["seq"]?.intValue ?? 0), "tick": .string(row[1]), "time": .string(row[2]),
            "kind": .string(row[3]),
            "actor": .string(row[4]), "summary": .string(String(row[5].prefix(summaryCharactersMax))),
        ]).canonicalText
        return "id: \(entry["seq"]?.intValue ?? 0)\nevent: entry\ndata: \(data)\n\n"
    }
}
