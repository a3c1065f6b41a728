import LoomEngine
import LoomIPC

print("loomctl (protocol \(ProtocolVersion.current)): commands arrive with the daemon")
