import LoomSystem

/// Shared text accumulation for streaming backends: bounded, with progress.
final class StreamedAnswer: @unchecked Sendable {
    private let lock = Lock()
    private let outputMaxBytes: Int
    private let context: SpawnContext
    private(set) var text = ""
    private(set) var tooLarge = false

    init(outputMaxBytes: Int, context: SpawnContext) {
        self.outputMaxBytes = outputMaxBytes
        self.context = context
    }

    /// Adds a piece of the answer; false once the answer is past its cap.
    func append(_ piece: String) -> Bool {
        guard !piece.isEmpty else { return true }
        let accepted = lock.withLock { () -> Bool in
            guard text.utf8.count + piece.utf8.count <= outputMaxBytes else {
                tooLarge = true
                return false
            }
            text += piece
            return true
        }
        if accepted { context.progress(piece) }
        return accepted
    }

    var value: String { lock.withLock { text } }
    var exceeded: Bool { lock.withLock { tooLarge } }
}
