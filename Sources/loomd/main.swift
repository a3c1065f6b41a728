#if canImport(Glibc)
import Glibc
#endif
import LoomDaemon
import LoomEngine

// loomd: the supervisor daemon. Flags override the environment, which overrides defaults.
let help = """
usage: loomd [--state-dir DIR] [--socket PATH] [--config FILE] [--bundles DIR]... [--default-bundle NAME]
             [--provider-script FILE] [--foreground]

  --state-dir DIR        where loomd keeps its project registry
                         (default: $STATE_DIRECTORY, else ~/.local/state/loom)
  --socket PATH          the control socket (default: $RUNTIME_DIRECTORY/loomd.sock,
                         else $XDG_RUNTIME_DIR/loom/loomd.sock); ignored under socket activation
  --config FILE          JSON settings: bundles, defaultBundle, providerScript, effectsMax, submitters,
                         approvers, maxFrameBytes, retry and grace periods (SIGHUP reloads it)
  --bundles DIR          a directory of bundles, or one bundle (repeatable; also $LOOM_BUNDLES;
                         default: the bundles shipped beside loomd, ../share/loom/bundles)
  --default-bundle NAME  the bundle a submission runs when it names none (default: code,
                         else the first loaded)
  --provider-script FILE answer agent spawns from a script (tests and the demo)
  --foreground           stay attached (the default; systemd runs it this way)
  --version, --help

Each project's state is <project>/.loom/state.db; a project is registered on its first
submission. Stop with SIGTERM or SIGINT; SIGHUP reloads --config.
"""

func fail(_ message: String, status: Int32 = 2) -> Never {
    let bytes = Array("loomd: \(message)\n".utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(status)
}

/// Reads flags over the environment's defaults, then runs the daemon; never returns.
func runLoomd() -> Never {
Daemon.blockControlSignals()

var environment: [String: String] = [:]
var pointer = environ
while let entry = pointer.pointee {
    let text = String(cString: entry)
    if let equals = text.firstIndex(of: "=") { environment[String(text[..<equals])] = String(text[text.index(after: equals)...]) }
    pointer += 1
}
var configuration = DaemonConfiguration.fromEnvironment(environment)
var arguments = Array(CommandLine.arguments.dropFirst())
func value(_ flag: String) -> String {
    guard !arguments.isEmpty else { fail("\(flag) needs a value\n\n\(help)") }
    return arguments.removeFirst()
}

var bundleFlags: [String] = []
while !arguments.isEmpty {
    let flag = arguments.removeFirst()
    switch flag {
    case "--state-dir": configuration.stateDirectory = value(flag)
    case "--socket": configuration.socketPath = value(flag)
    case "--config": configuration.configPath = value(flag)
    case "--bundles": bundleFlags.append(value(flag))
    case "--default-bundle": configuration.defaultBundle = value(flag)
    case "--provider-script": configuration.providerScript = value(flag)
    case "--foreground": configuration.foreground = true
    case "--version": print("loomd \(Daemon.version)"); exit(0)
    case "-h", "--help": print(help); exit(0)
    default: fail("unknown option '\(flag)'\n\n\(help)")
    }
}
if let path = configuration.configPath {
    do { try configuration.apply(configFile: path) } catch { fail("\(error)", status: 1) }
}
if !bundleFlags.isEmpty { configuration.bundleDirectories = bundleFlags }
if configuration.bundleDirectories.isEmpty {
    // The bundles shipped with this loomd: an install's share/loom/bundles, a checkout's bundles/.
    var buffer = [CChar](repeating: 0, count: 4_096)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let executable = length > 0 ? String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
    let directory = executable.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    // Up to four levels: bin/ of an install, .build/<triple>/debug/ of a checkout.
    var ancestor = directory
    search: for _ in 0..<4 {
        ancestor += "/.."
        for candidate in ["\(ancestor)/share/loom/bundles", "\(ancestor)/bundles"] where access("\(candidate)/code/bundle.json", F_OK) == 0 {
            configuration.bundleDirectories = [candidate]
            break search
        }
    }
}

do {
    let daemon = try Daemon(configuration: configuration)
    exit(daemon.run())
} catch {
    fail("\(error)", status: 1)
}
}

runLoomd()
