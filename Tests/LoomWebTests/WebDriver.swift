import Foundation
import LoomValues

/// Just enough of the W3C WebDriver protocol, spoken to chromedriver over HTTP, to drive a
/// headless Chromium: navigate, find, type, click, run a script, take a screenshot.
final class WebDriver: @unchecked Sendable {
    static let elementKey = "element-6066-11e4-a52e-4f735466cecf"

    /// Where Debian puts them; nil (with the reason) when either is missing.
    static func missing() -> String? {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        let driver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        if chromium == nil {
            return "chromium is not installed (apt-get install --no-install-recommends chromium chromium-driver)"
        }
        if driver == nil {
            return "chromedriver is not installed (apt-get install --no-install-recommends chromium-driver)"
        }
        return nil
    }

    let process: Process
    let http: RawHTTP
    private(set) var session = ""

    init(logFile: String) throws {
        let port = try Self.freePort()
        process = Process()
        let driver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }!
        process.executableURL = URL(fileURLWithPath: driver)
        process.arguments = ["--port=\(port)"]
        FileManager.default.createFile(atPath: logFile, contents: nil)
        let log = FileHandle(forWritingAtPath: logFile)!
        process.standardOutput = log
        process.standardError = log
        try process.run()
        http = RawHTTP(url: "http://127.0.0.1:\(port)")
        for _ in 0..<100 {
            if let ready = try? http.send("GET", "/status", timeout: 2), ready.status == 200 { return }
            usleep(100_000)
        }
        throw HarnessFailure("chromedriver did not answer on port \(port)")
    }

    deinit { quit() }

    func quit() {
        if !session.isEmpty { _ = try? http.send("DELETE", "/session/\(session)", timeout: 10) }
        session = ""
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// A headless Chromium; as root it needs --no-sandbox.
    func startSession(width: Int = 1280, height: Int = 1900) throws {
        var arguments: [JSONValue] = [
            "--headless=new", "--disable-gpu", "--disable-dev-shm-usage", .string("--window-size=\(width),\(height)"),
            "--no-first-run",
        ]
        if getuid() == 0 { arguments.append("--no-sandbox") }
        let capabilities: JSONValue = [
            "capabilities": ["alwaysMatch": ["goog:chromeOptions": ["args": .array(arguments)]]]
        ]
        let answer = try command("POST", "/session", capabilities, timeout: 60)
        session =
            try answer["sessionId"]?.stringValue ?? { throw HarnessFailure("no session: \(answer.canonicalText)") }()
    }

    @discardableResult
    func command(_ method: String, _ path: String, _ body: JSONValue? = nil, timeout: Double = 30) throws -> JSONValue {
        let response = try http.send(
            method,
            path,
            headers: ["Content-Type": "application/json"],
            body: body?.canonicalText ?? (method == "POST" ? "{}" : ""),
            timeout: timeout
        )
        let json = try JSONValue.parse(response.body)
        guard response.status == 200 else {
            throw HarnessFailure("WebDriver \(method) \(path): \(response.status) \(response.body.prefix(400))")
        }
        return json["value"] ?? .null
    }

    func go(_ url: String) throws { try command("POST", "/session/\(session)/url", ["url": .string(url)]) }

    var currentURL: String { (try? command("GET", "/session/\(session)/url"))?.stringValue ?? "" }

    func find(_ css: String) throws -> String {
        let value = try command(
            "POST",
            "/session/\(session)/element",
            ["using": "css selector", "value": .string(css)]
        )
        return try value[Self.elementKey]?.stringValue
            ?? {
                let page =
                    (try? script("return location.href + ' ' + document.body.innerText.slice(0, 300)"))?.stringValue
                    ?? ""
                throw HarnessFailure("no element \(css) (\(value.canonicalText)) on \(page)")
            }()
    }

    func type(_ css: String, _ text: String) throws {
        try command("POST", "/session/\(session)/element/\(try find(css))/value", ["text": .string(text)])
    }

    func click(_ css: String) throws {
        try command("POST", "/session/\(session)/element/\(try find(css))/click")
    }

    func script(_ source: String) throws -> JSONValue {
        try command("POST", "/session/\(session)/execute/sync", ["script": .string(source), "args": []])
    }

    /// Polls `source` (a script returning a boolean) until it is true; false on timeout.
    func wait(seconds: Double = 30, for source: String) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? script(source))?.boolValue == true { return true }
            usleep(200_000)
        }
        return false
    }

    func screenshot() throws -> Data {
        let encoded = try command("GET", "/session/\(session)/screenshot").stringValue ?? ""
        return try Data(base64Encoded: encoded) ?? { throw HarnessFailure("the screenshot is not base64") }()
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw HarnessFailure("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
