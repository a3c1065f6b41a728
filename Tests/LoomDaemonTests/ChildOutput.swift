import Foundation

/// A child process's stdout and stderr, read to their ends in the background from the
/// moment it runs, so a full pipe never blocks it; `merged` sends stderr into stdout.
final class ChildOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    private let group = DispatchGroup()

    /// Attaches the pipes, runs `process`, and starts reading.
    static func run(_ process: Process, merged: Bool = false) throws -> ChildOutput {
        let outPipe = Pipe()
        let errPipe = merged ? outPipe : Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        try process.run()
        let output = ChildOutput()
        output.read(outPipe) { $0.out = $1 }
        if !merged { output.read(errPipe) { $0.err = $1 } }
        return output
    }

    private func read(_ pipe: Pipe, into store: @escaping @Sendable (ChildOutput, Data) -> Void) {
        group.enter()
        DispatchQueue.global().async {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            self.lock.withLock { store(self, data) }
            self.group.leave()
        }
    }

    /// Waits until both pipes reached their ends; false if `seconds` passed first.
    @discardableResult
    func wait(seconds: Double) -> Bool {
        group.wait(timeout: .now() + seconds) == .success
    }

    var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
    var stderr: String { lock.withLock { String(decoding: err, as: UTF8.self) } }
}
