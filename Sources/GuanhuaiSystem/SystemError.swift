#if canImport(Glibc)
    import Glibc
#endif

/// A C call that failed: which call, and its errno with the system's text for it. The one helper for both of C's
/// error conventions, as swift-nio's `syscall` wrapper is for POSIX calls (that one is internal to NIOPosix).
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public var call: String
    public var errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call) failed: \(String(cString: strerror(errno)))" }

    /// libsystemd's convention: a negative return is -errno; zero or more is the result.
    @discardableResult
    public static func check(_ call: String, negativeErrno result: Int32) throws(SystemError) -> Int32 {
        guard result >= 0 else { throw SystemError(call: call, errno: -result) }
        return result
    }

    /// POSIX's convention: -1 with `errno` set. Interrupted calls (EINTR) are made again.
    @discardableResult
    public static func check(_ call: String, _ body: () -> Int32) throws(SystemError) -> Int32 {
        while true {
            let result = body()
            if result != -1 { return result }
            let e = Glibc.errno
            if e != EINTR { throw SystemError(call: call, errno: e) }
        }
    }
}
