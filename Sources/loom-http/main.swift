import LoomProviders
import LoomSystem

#if canImport(Glibc)
import Glibc
#endif

// loom-http: makes one HTTP request for an HTTP agent backend and streams the answer back
// to the process that started it, in HTTPHelperWire frames. Not meant to be run by hand.

/// The request line plus a body (a prompt, bounded by the kernel) fits well within this.
let inputMaxBytes = 64 << 20

func readStandardInput() -> [UInt8]? {
    var input: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = read(0, &buffer, buffer.count)
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { return input }
        input += buffer[0..<count]
        if input.count > inputMaxBytes { return nil }
    }
}

/// Writes all of `bytes` to stdout; false once the reader has gone.
func emit(_ bytes: [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        if written <= 0 { return false }
        offset += written
    }
    return true
}

// glibc's prctl is variadic, which Swift cannot call; this takes the one option used here.
@_silgen_name("prctl")
func prctl(_ option: Int32, _ argument: UInt, _ unused2: UInt, _ unused3: UInt, _ unused4: UInt) -> Int32

/// Dies with loomd: PR_SET_PDEATHSIG makes the kernel SIGKILL this helper when the thread
/// that started it (a loomd pool thread, blocked on it for its whole life) goes, a
/// `kill -9` of loomd included. Without it the helper was re-parented and kept its request
/// open for up to its whole timeout. The parent may have died before the call: then the
/// parent is no longer the pid loom named (`LOOM_HTTP_PARENT`), and the helper exits at once.
func dieWithParent() {
    _ = prctl(1 /* PR_SET_PDEATHSIG */, UInt(SIGKILL), 0, 0, 0)
    if let named = getenv("LOOM_HTTP_PARENT").flatMap({ Int32(String(cString: $0)) }), getppid() != named {
        exit(3)
    }
}

dieWithParent()
if CommandLine.arguments.count > 1 {
    StandardError.write(
        "usage: loom-http < request\nMakes one HTTP request for loom's HTTP agent backends (see HTTPHelperWire); loom starts it itself.\n"
    )
    exit(CommandLine.arguments[1] == "--help" ? 0 : 2)
}
// A reader that went away shows as a failed write, not as a signal.
signal(SIGPIPE, SIG_IGN)
guard let input = readStandardInput(), let (request, limits) = HTTPHelperWire.decodeRequest(input) else {
    _ = emit(HTTPHelperWire.encode(.end(.network("loom-http: the request on stdin is malformed or too large"))))
    exit(2)
}
let outcome = HTTPTransfer.send(
    request,
    limits: limits,
    onHead: { status, headers in _ = emit(HTTPHelperWire.encode(.head(status: status, headers: headers))) },
    onChunk: { chunk in
        var offset = 0
        while offset < chunk.count {
            let end = min(chunk.count, offset + HTTPHelperWire.chunkMaxBytes)
            guard emit(HTTPHelperWire.encode(.body(Array(chunk[offset..<end])))) else { return false }
            offset = end
        }
        return true
    }
)
_ = emit(HTTPHelperWire.encode(.end(outcome.failure)))
exit(0)
