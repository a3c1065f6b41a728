import CSystemd
import Glibc

/// sd_notify and friends. Every call is a cheap no-op when NOTIFY_SOCKET is unset.
///
/// A value type with no state: libsystemd reads NOTIFY_SOCKET on each call, so a notifier
/// made before the environment changes still sends to the right place, and any task may
/// hold one. Each method returns true only when systemd was actually told (sd_notify > 0);
/// false means "not under systemd" or "send failed", which loomd treats alike: the
/// notifications are advisory and the daemon works without them.
public struct SystemdNotifier: Sendable {
    /// Most sockets taken from socket activation. loomd.socket passes one; a bound keeps a
    /// bogus LISTEN_FDS from making loomd walk thousands of descriptors.
    static let listenFDLimit: Int32 = 64

    public init() {}

    /// "READY=1", with "STATUS=…" when `status` is given: startup is finished (or a reload is).
    @discardableResult public func ready(status: String? = nil) -> Bool {
        guard Self.notifySocketSet else { return false }
        return send(NotifyMessage.ready(status: status))
    }

    /// "STATUS=…": one line for `systemctl status` (newlines become spaces, at most
    /// `NotifyMessage.statusByteLimit` bytes).
    @discardableResult public func status(_ line: String) -> Bool {
        guard Self.notifySocketSet else { return false }
        return send(NotifyMessage.status(line))
    }

    /// "STOPPING=1": shutdown has begun.
    @discardableResult public func stopping() -> Bool {
        guard Self.notifySocketSet else { return false }
        return send(NotifyMessage.stopping)
    }

    /// "RELOADING=1\nMONOTONIC_USEC=…": a reload has begun; send `ready()` when it is done.
    @discardableResult public func reloading() -> Bool {
        guard Self.notifySocketSet else { return false }
        return send(NotifyMessage.reloading(monotonicUsec: NotifyMessage.monotonicUsec()))
    }

    /// "WATCHDOG=1": the main loop is alive. Send every `watchdogPingIntervalUsec()`.
    @discardableResult public func watchdog() -> Bool {
        guard Self.notifySocketSet else { return false }
        return send(NotifyMessage.watchdog)
    }

    /// "EXTEND_TIMEOUT_USEC=…": the current start/stop/reload step needs `usec` more
    /// microseconds from now (a long journal replay, a slow child).
    @discardableResult public func extendTimeout(usec: UInt64) -> Bool {
        guard Self.notifySocketSet else { return false }
        return send(NotifyMessage.extendTimeout(usec: usec))
    }

    /// Sends `state` as is; true when sd_notify delivered it.
    @discardableResult public func send(_ state: String) -> Bool {
        // unset_environment = 0: the variable must survive for the next notification.
        sd_notify(0, state) > 0
    }

    /// Half of WATCHDOG_USEC when the watchdog is on for this process
    /// (sd_watchdog_enabled(0, &usec) > 0), else nil. Half, as sd_watchdog_enabled(3)
    /// advises, so one late ping does not get the daemon killed.
    public static func watchdogPingIntervalUsec() -> UInt64? {
        var usec: UInt64 = 0
        // unset_environment = 0: asking again must give the same answer. Children that
        // inherit WATCHDOG_* are not fooled: WATCHDOG_PID names loomd, not them.
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return max(usec / 2, 1)
    }

    /// Sockets passed by socket activation: sd_listen_fds(1) fds starting at
    /// SD_LISTEN_FDS_START (3); empty when not activated. Only Unix stream sockets are
    /// returned (sd_is_socket_unix(fd, SOCK_STREAM, 1, nil, 0) > 0).
    ///
    /// Call once, at startup: sd_listen_fds(1) unsets LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES
    /// so the commands loomd runs do not think the sockets are theirs, and it marks the fds
    /// close-on-exec so they do not leak into those commands either. A passed fd that is
    /// not a listening Unix stream socket is left alone (close-on-exec, never used).
    public static func listenFDs() -> [Int32] {
        let count = sd_listen_fds(1)
        guard count > 0 else { return [] }
        let start = Int32(SD_LISTEN_FDS_START)
        let end = start + min(count, listenFDLimit)
        return (start..<end).filter { fd in
            sd_is_socket_unix(fd, Int32(SOCK_STREAM.rawValue), 1, nil, 0) > 0
        }
    }

    /// Whether there is a notify socket to talk to. Checked before building a message so a
    /// daemon run outside systemd pays one getenv per call and nothing else.
    private static var notifySocketSet: Bool {
        getenv("NOTIFY_SOCKET") != nil
    }
}
