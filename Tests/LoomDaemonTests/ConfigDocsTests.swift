import Foundation
import LoomCode
import LoomConfiguration
import LoomDaemon
import LoomProviders
import LoomSystem
import Testing

/// docs/CONFIG.md names every key the code accepts, so the page an operator reads is the
/// whole truth: a key added to the code without a line there fails here.
@Suite struct ConfigDocsTests {
    @Test func theConfigurationPageNamesEveryKeyTheCodeAccepts() throws {
        let page = try String(contentsOfFile: "\(DaemonHarness.repositoryRoot)/docs/CONFIG.md", encoding: .utf8)
        let sets: [(String, Set<String>)] = [
            ("loomd's config file", DaemonConfiguration.settingNames),
            ("models.json", ModelsConfiguration.settingNames),
            ("a provider's settings", ProviderSettings.settingNames), (".loom/config", CodeConfig.settingNames),
            ("a check", CodeConfig.checkSettingNames),
        ]
        for (file, keys) in sets {
            for key in keys.sorted() {
                #expect(page.contains("`\(key)`"), "docs/CONFIG.md does not name \(file)'s key \(key)")
            }
        }
    }

    /// loomd's manual page is kept by hand beside its --help: every flag the help names is in it.
    @Test func loomdsManualPageNamesEveryFlag() throws {
        let page = try String(contentsOfFile: "\(DaemonHarness.repositoryRoot)/docs/man/loomd.8", encoding: .utf8)
        let result = ChildProcess.run(
            .init(
                argv: ["\(DaemonHarness.binaries)/loomd", "--help"],
                environment: ProcessInfo.processInfo.environment,
                timeoutMs: 10_000,
                outputLimitBytes: 1 << 20,
                separateStandardError: true
            )
        )
        #expect(result.exitCode == 0 && !result.timedOut, "\(result)")
        let help = String(decoding: result.output, as: UTF8.self)
        let words = help.split(whereSeparator: { !$0.isLetter && $0 != "-" }).map(String.init)
        let flags = Set(words.filter { $0.hasPrefix("--") && $0.count > 2 })
        #expect(flags.count >= 10, "\(flags)")
        for flag in flags.sorted() {
            #expect(page.contains("Fl -\(flag.dropFirst(2))"), "docs/man/loomd.8 does not name \(flag)")
        }
    }
}
