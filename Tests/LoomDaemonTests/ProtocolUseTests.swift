import Foundation
import LoomIPC
import Testing

@testable import LoomDaemon

/// One definition of the wire, used by both sides: loomd routes exactly the methods LoomIPC
/// defines, and no client builds a request by a method's name.
@Suite struct ProtocolUseTests {
    @Test func loomdRoutesEveryDefinedMethodAndNoOther() {
        #expect(Daemon.router.methods == IPCMethods.all.map { $0.name }.sorted())
    }

    /// `IPCClient.call("name", json)` exists for tests that send what no typed client would;
    /// the programs call through the method types.
    @Test func noProgramCallsAMethodByItsName() throws {
        let sources = "\(PackageGraphTests.root)/Sources"
        let pattern = try NSRegularExpression(pattern: #"\.(call|stream|sideCall)\("[a-z.-]+""#)
        var found: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: sources)
        while let file = enumerator?.nextObject() as? String {
            guard file.hasSuffix(".swift"), !file.hasPrefix("LoomIPC/") else { continue }
            let text = try String(contentsOfFile: "\(sources)/\(file)", encoding: .utf8)
            if pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil { found.append(file) }
        }
        #expect(found.isEmpty, "calls by name in: \(found.sorted().joined(separator: ", "))")
    }
}
