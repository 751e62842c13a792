import STNSystem

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// A TensorBoard event file, `DIR/events.out.tfevents.TIME.HOST`, that training appends to
/// as it goes (TensorBoard reads such a file while it grows). The first record is the file
/// version; each `write` then appends one event as a whole record in one write(2), so a run
/// that is killed leaves whole records and TensorBoard shows every epoch written before.
public final class EventFileWriter {
    public let path: String
    private var descriptor: Int32

    /// Creates `directory` (and its parents) if needed and starts a new event file there.
    /// A file of that name already there (two runs started in the same second) is left
    /// alone: the name then gets the process id too.
    public init(directory: String, wallTime: Double = EventFileWriter.now(), host: String = EventFileWriter.host())
        throws
    {
        try createDirectories(directory)
        let stem =
            (directory.hasSuffix("/") ? directory : directory + "/") + "events.out.tfevents."
            + "\(Int(wallTime)).\(host)"
        var path = stem
        var descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
        if descriptor < 0 && errno == EEXIST {
            path = stem + ".\(getpid())"
            descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
        }
        guard descriptor >= 0 else { throw FileError(path, errorText(errno)) }
        self.path = path
        self.descriptor = descriptor
        try append(TensorBoardEvent.record(TensorBoardEvent.fileVersionEvent(wallTime: wallTime)))
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// Appends one summary event at `step`, and sends it to the disk.
    public func write(step: Int, values: [SummaryValue], wallTime: Double = EventFileWriter.now()) throws {
        try append(
            TensorBoardEvent.record(TensorBoardEvent.summaryEvent(wallTime: wallTime, step: step, values: values)))
    }

    private func append(_ bytes: [UInt8]) throws {
        try appendAll(bytes, to: descriptor, path: path)
    }

    /// Seconds since 1970, as TensorBoard's wall_time.
    public static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    /// This machine's host name ("localhost" if it has none), as TensorFlow names its files.
    public static func host() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // A slash would make the name a path.
        return name.isEmpty ? "localhost" : String(name.map { $0 == "/" ? "_" : $0 })
    }
}

/// Writes all of `bytes` to `descriptor` (retrying short writes and EINTR), then syncs it.
private func appendAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws {
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw FileError(path, n == 0 ? "short write" : errorText(errno)) }
        written += n
    }
    guard fsync(descriptor) == 0 || errno == EINVAL else { throw FileError(path, errorText(errno)) }
}
