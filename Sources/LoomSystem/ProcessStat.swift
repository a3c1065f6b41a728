/// Fields of /proc/<pid>/stat, numbered as in proc(5). The command (field 2) may hold
/// spaces and parentheses, so fields are counted from the last ')'.
public enum ProcessStat {
    public static func field(_ number: Int, of pid: Int32) -> String? {
        guard number >= 3, let stat = FileSystem.readText("/proc/\(pid)/stat", limit: 4_096),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > number - 3 else { return nil }
        return String(fields[number - 3])
    }
}
