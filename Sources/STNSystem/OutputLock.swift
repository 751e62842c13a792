#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// An exclusive claim on an output file, so two processes never write the same one: an
/// flock(2) lock on `OUTPUT.lock` beside it, held until `release()` (or deinit). The kernel
/// drops the lock when the process ends however it ends, SIGKILL included; the lock file
/// such a process leaves behind is unlocked and simply taken by the next writer.
public final class OutputLock {
    public let output: String
    public let path: String
    private var descriptor: Int32 = -1

    /// Takes the lock for `output`, or throws (naming `output`, the process holding the lock
    /// when it is known, and the lock file) if another process has it.
    public init(for output: String) throws {
        self.output = output
        path = output + ".lock"
        while true {
            let candidate = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard candidate >= 0 else {
                throw FileError(output, "cannot create the lock file \(path): \(String(cString: strerror(errno)))")
            }
            guard flock(candidate, LOCK_EX | LOCK_NB) == 0 else {
                let reason = errno
                let holder = OutputLock.holder(candidate)
                close(candidate)
                if reason == EWOULDBLOCK {
                    let who = holder.map { "another process (pid \($0))" } ?? "another process"
                    throw FileError(
                        output, "\(who) is writing this output and holds \(path); wait for it or choose another output")
                }
                throw FileError(output, "cannot lock \(path): \(String(cString: strerror(reason)))")
            }
            // The previous holder removes the file as it releases it: if that happened between
            // our open and our flock, we hold a lock on a file no longer at `path`. Try again.
            var locked = stat()
            var current = stat()
            if fstat(candidate, &locked) == 0, stat(path, &current) == 0, locked.st_dev == current.st_dev,
                locked.st_ino == current.st_ino
            {
                descriptor = candidate
                break
            }
            close(candidate)
        }
        // Who holds it, for the message another writer gets.
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(descriptor, 0) == 0 { _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) } }
    }

    /// Removes the lock file and drops the lock (removal first, while it is still ours).
    public func release() {
        guard descriptor >= 0 else { return }
        unlink(path)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }

    /// The process id written in a lock file, if there is one.
    private static func holder(_ descriptor: Int32) -> Int? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[..<n], as: UTF8.self).split(separator: "\n").first ?? ""
        return Int(text).flatMap { $0 > 0 ? $0 : nil }
    }
}
