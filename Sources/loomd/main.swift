import LoomDaemon
import LoomEngine
import LoomHost
import LoomProviders
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

// loomd: the supervisor daemon. Flags override the environment, which overrides defaults.
let help = """
    usage: loomd [--state-dir DIR] [--socket PATH] [--config FILE] [--bundles DIR]... [--default-bundle NAME]
                 [--provider-script FILE] [--confinement bwrap|none] [--agent-user USER] [--log-level LEVEL] [--foreground]

      --state-dir DIR        where loomd keeps its project registry
                             (default: $STATE_DIRECTORY, else ~/.local/state/loom)
      --socket PATH          the control socket (default: $RUNTIME_DIRECTORY/loomd.sock,
                             else $XDG_RUNTIME_DIR/loom/loomd.sock); ignored under socket activation
      --config FILE          JSON settings: bundles, defaultBundle, providerScript, confinement, agentUser, effectsMax, submitters,
                             approvers, maxFrameBytes, retry, rate-limit and grace settings; flags
                             beat it. SIGHUP reloads bundles, defaultBundle, the allowlists and the
                             grace period; the others wait for a restart (the log names them)
      --bundles DIR          a directory of bundles, or one bundle (repeatable; also $LOOM_BUNDLES;
                             default: the bundles shipped beside loomd, ../share/loom/bundles)
      --default-bundle NAME  the bundle a submission runs when it names none (default: code,
                             else the first loaded)
      --provider-script FILE answer agent spawns from a script (tests and the demo)
      --confinement MODE     how every process started for a task (agents' programs, checks,
                             command steps) is confined: bwrap (the default: namespaces, loom's
                             files hidden, the worktree the only writable place; fails closed when
                             bubblewrap is missing) or none (unconfined: the log, status, metrics
                             and every spawn's record say so). See docs/SECURITY.md
      --agent-user USER      run every task process as USER (a name or uid; the system service
                             uses loom-agent), never an approver: loomd refuses to start when USER
                             is on an allowlist, is loomd's own user, or cannot be switched to
      --log-level LEVEL      trace, debug (adds every request), info (the default: start-up, submissions,
                             gates opened and answered, effects started, finished, retried, failed),
                             notice, warning, error, critical (also $LOOM_LOG)
      --foreground           stay attached (the default; systemd runs it this way)
      --version, --help

    Each project's state is <project>/.loom/state.db; a project is registered on its first
    submission. Stop with SIGTERM or SIGINT; SIGHUP reloads --config.
    """

func fail(_ message: String, status: Int32 = 2) -> Never {
    StandardError.line("loomd", message)
    exit(status)
}

/// Reads flags over the environment's defaults, then runs the daemon; never returns.
func runLoomd() -> Never {
    Daemon.blockControlSignals()

    var environment: [String: String] = [:]
    var pointer = environ
    while let entry = pointer.pointee {
        let text = String(cString: entry)
        if let equals = text.firstIndex(of: "=") {
            environment[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
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
        case "--bundles":
            bundleFlags.append(value(flag))
            configuration.setByFlags.insert("bundles")
        case "--default-bundle":
            configuration.defaultBundle = value(flag)
            configuration.setByFlags.insert("defaultBundle")
        case "--provider-script":
            configuration.providerScript = value(flag)
            configuration.setByFlags.insert("providerScript")
        case "--confinement":
            let name = value(flag)
            guard let mode = Confinement.Mode(rawValue: name) else {
                fail("--confinement must be bwrap or none, not '\(name)'")
            }
            configuration.confinement = mode
            configuration.setByFlags.insert("confinement")
        case "--agent-user":
            configuration.agentUser = value(flag)
            configuration.setByFlags.insert("agentUser")
        case "--log-level":
            let name = value(flag)
            guard StderrLogHandler.level(named: name) != nil else {
                fail("--log-level must be trace, debug, info, notice, warning, error or critical, not '\(name)'")
            }
            configuration.logLevel = name
        case "--foreground": configuration.foreground = true
        case "--version":
            print("loomd \(Daemon.version)")
            exit(0)
        case "-h", "--help":
            print(help)
            exit(0)
        default: fail("unknown option '\(flag)'\n\n\(help)")
        }
    }
    // Flags beat the config file (which skips what they set), here and on SIGHUP.
    if !bundleFlags.isEmpty { configuration.bundleDirectories = bundleFlags }
    if let path = configuration.configPath {
        do { try configuration.apply(configFile: path) } catch { fail("\(error)", status: 1) }
    }
    if configuration.bundleDirectories.isEmpty, let shipped = ShippedBundles.directory() {
        configuration.bundleDirectories = [shipped]
    }

    guard StderrLogHandler.level(named: configuration.logLevel) != nil else {
        fail("LOOM_LOG must be trace, debug, info, notice, warning, error or critical, not '\(configuration.logLevel)'")
    }
    do {
        let daemon = try Daemon(configuration: configuration)
        exit(daemon.run())
    } catch {
        fail("\(error)", status: 1)
    }
}

runLoomd()
