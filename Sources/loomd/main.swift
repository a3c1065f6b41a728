import LoomEngine
import LoomIPC

// The supervisor daemon arrives with its own issue; until then it says what it is.
print("loomd (protocol \(ProtocolVersion.current)): the daemon is not built yet; the kernel is LoomEngine")
