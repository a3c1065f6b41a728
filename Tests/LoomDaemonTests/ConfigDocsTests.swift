import Foundation
import LoomCode
import LoomDaemon
import LoomProviders
import Testing

/// docs/CONFIG.md names every key the code accepts, so the page an operator reads is the
/// whole truth: a key added to the code without a line there fails here.
@Suite struct ConfigDocsTests {
    @Test func theConfigurationPageNamesEveryKeyTheCodeAccepts() throws {
        let page = try String(contentsOfFile: "\(DaemonHarness.repositoryRoot)/docs/CONFIG.md", encoding: .utf8)
        let sets: [(String, Set<String>)] = [
            ("loomd's config file", DaemonConfiguration.settingNames), ("models.json", ModelsConfiguration.settingNames),
            ("a provider's settings", ProviderSettings.settingNames), (".loom/config", CodeConfig.settingNames),
            ("a check", CodeConfig.checkSettingNames),
        ]
        for (file, keys) in sets {
            for key in keys.sorted() { #expect(page.contains("`\(key)`"), "docs/CONFIG.md does not name \(file)'s key \(key)") }
        }
    }
}
