import Foundation
import Testing

/// The SPIN model of the protocol (models/loom.pml) is checked by every test run: its safety
/// properties exhaustively, its liveness formula under weak fairness (1 crash here; 2 with
/// `models/run --full`), and its broken variant must produce a counterexample, so the check
/// can fail.
@Suite struct ProtocolModelTests {
    @Test func theModelHoldsAndItsBrokenVariantDoesNot() throws {
        let run = Fixtures.repositoryRoot.appendingPathComponent("models/run").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: run)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        print(text)
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("model safety: errors 0"))
        #expect(text.contains("model liveness: errors 0"))
        #expect(text.contains("broken variant: counterexample found"))
    }
}
