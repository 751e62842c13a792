#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

// Files through plain POSIX calls. Foundation would do the same work, but loading it
// (and the ICU data behind it) costs more than stn-infer's whole answer for one image.

/// A file operation that failed, as one line: "path: reason".
public struct FileError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let reason: String
    public init(_ path: String, _ reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): \(reason)" }
}

public enum FileKind: Sendable, Equatable { case missing, file, directory, other }

/// What is at `path` (following symbolic links); `.missing` whenever `stat` fails, however
/// it fails (see `fileStatus` for why).
public func fileKind(_ path: String) -> FileKind { fileStatus(path).kind }

/// What is at `path` (following symbolic links), and when `stat` fails, its errno: ENOENT
/// for nothing there, but also ELOOP (a symbolic-link loop), EACCES, ENAMETOOLONG, ...
public func fileStatus(_ path: String) -> (kind: FileKind, errorCode: Int32) {
    var info = stat()
    guard stat(path, &info) == 0 else { return (.missing, errno) }
    switch info.st_mode & S_IFMT {
    case S_IFREG: return (.file, 0)
    case S_IFDIR: return (.directory, 0)
    default: return (.other, 0)
    }
}

public func fileExists(_ path: String) -> Bool { fileKind(path) != .missing }

/// The C library's text for an errno ("Permission denied").
public func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

/// Whether a failed `stat`'s errno means nothing is there (ENOENT, or ENOTDIR: a file where
/// a directory of the path should be), rather than a loop, a permission or a name too long.
public func meansAbsent(_ code: Int32) -> Bool { code == ENOENT || code == ENOTDIR }

/// The directory part of a path ("." for a bare name), like dirname(1).
public func directoryName(_ path: String) -> String {
    var trimmed = Substring(path)
    while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
    guard let slash = trimmed.lastIndex(of: "/") else { return "." }
    let directory = trimmed[..<slash]
    return directory.isEmpty ? "/" : String(directory)
}

/// The last component of a path, like basename(1).
public func baseName(_ path: String) -> String {
    var trimmed = Substring(path)
    while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
    if trimmed == "/" { return "/" }
    return trimmed.lastIndex(of: "/").map { String(trimmed[trimmed.index(after: $0)...]) } ?? String(trimmed)
}

/// Creates the directory `path` and any missing parents, like `mkdir -p`. An existing
/// directory is fine; a file in the way is an error naming it; any other failure names its
/// errno (a read-only parent, a name too long, a symbolic-link loop).
public func createDirectories(_ path: String) throws {
    let (kind, code) = fileStatus(path)
    switch kind {
    case .directory: return
    case .file, .other: throw FileError(path, "exists and is not a directory")
    case .missing:
        // ENOTDIR: a file where a parent should be, named by the parent's own check below.
        guard meansAbsent(code) else { throw FileError(path, "cannot create directory: \(errorText(code))") }
    }
    let parent = directoryName(path)
    if parent != path { try createDirectories(parent) }
    if mkdir(path, 0o777) == 0 { return }
    // Read errno before anything else can change it; another process may have made it meanwhile.
    let failure = errno
    guard failure == EEXIST, fileKind(path) == .directory else {
        throw FileError(path, "cannot create directory: \(errorText(failure))")
    }
}

/// A file opened for reading: its descriptor (the caller closes it), its size as `fstat`
/// reports it (0 for a pipe) and whether it is a regular file. Anything else (a pipe, a
/// FIFO, a character device, /dev/stdin) is a stream: it can be read once, from the start.
public struct OpenedFile: Sendable {
    public let descriptor: Int32
    public let size: Int
    public let isRegular: Bool
}

/// Opens an existing file (or pipe) for reading, once: a FIFO opened twice would lose what
/// the first reader took. Refuses a directory; a failure names its errno ("no such file"
/// for ENOENT).
public func openFile(_ path: String) throws -> OpenedFile {
    var descriptor: Int32
    repeat { descriptor = open(path, O_RDONLY | O_CLOEXEC) } while descriptor < 0 && errno == EINTR
    guard descriptor >= 0 else {
        let code = errno
        throw FileError(path, code == ENOENT ? "no such file" : errorText(code))
    }
    var info = stat()
    guard fstat(descriptor, &info) == 0 else {
        let code = errno
        close(descriptor)
        throw FileError(path, errorText(code))
    }
    let type = info.st_mode & S_IFMT
    guard type != S_IFDIR else {
        close(descriptor)
        throw FileError(path, "is a directory")
    }
    return OpenedFile(descriptor: descriptor, size: type == S_IFREG ? Int(info.st_size) : 0, isRegular: type == S_IFREG)
}

/// Opens an existing regular file (or pipe) for reading: its descriptor, which the caller
/// closes, and its size as `stat` reports it (0 for a pipe).
public func openForReading(_ path: String) throws -> (descriptor: Int32, size: Int) {
    let file = try openFile(path)
    return (file.descriptor, file.size)
}

/// The whole file. The size is checked before reading: a file larger than `limit` bytes
/// is refused without being loaded.
public func readWholeFile(_ path: String, limit: Int = 1 << 31) throws -> [UInt8] {
    let file = try openFile(path)
    defer { close(file.descriptor) }
    return try readAll(file.descriptor, path: path, size: file.size, limit: limit)
}

/// Everything left on `descriptor` (a file, or a stream to its end), at most `limit` bytes;
/// `size` (0 when unknown) sizes the first read and refuses a larger file before reading.
public func readAll(_ descriptor: Int32, path: String, size: Int = 0, limit: Int) throws -> [UInt8] {
    guard size <= limit else { throw FileError(path, "file too large (\(size) bytes, at most \(limit))") }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: max(4096, min(size, limit) + 1))
    while true {
        let n = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if n < 0 {
            let code = errno
            if code == EINTR { continue }
            throw FileError(path, errorText(code))
        }
        if n == 0 { break }
        bytes += chunk[..<n]
        // The file grew while we read it, or a stream goes on: still refuse more than the limit.
        guard bytes.count <= limit else { throw FileError(path, "file too large (more than \(limit) bytes)") }
    }
    return bytes
}

/// Writes `bytes` to a temporary file beside `path`, `.NAME.PID.tmp`, then renames it into
/// place: readers never see a partial file, and a failure leaves nothing behind. A temporary
/// file of an earlier writer that was killed (kill -9, a power cut) before its rename is
/// removed first: one named for this target whose process no longer exists.
public func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    let directory = directoryName(path)
    let prefix = (directory == "/" ? "" : directory) + "/"
    removeStaleTemporaries(in: directory, prefix: prefix, name: baseName(path))
    let temporary = prefix + "." + baseName(path) + ".\(getpid()).tmp"
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
        // errno first: the stat below would replace it.
        let code = errno
        let (kind, statCode) = fileStatus(directory)
        let reason: String
        if kind == .missing {
            reason =
                meansAbsent(statCode)
                ? "directory '\(directory)' does not exist" : "directory '\(directory)': \(errorText(statCode))"
        } else if kind != .directory {
            reason = "'\(directory)' is not a directory"
        } else if code == EACCES || code == EROFS || code == EPERM {
            reason = "directory '\(directory)' is not writable (\(errorText(code)))"
        } else {
            reason = errorText(code)
        }
        throw FileError(path, reason)
    }
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else {
            let reason = n == 0 ? "short write" : errorText(errno)
            close(descriptor)
            unlink(temporary)
            throw FileError(path, reason)
        }
        written += n
    }
    guard close(descriptor) == 0 else {
        let reason = errorText(errno)
        unlink(temporary)
        throw FileError(path, reason)
    }
    guard rename(temporary, path) == 0 else {
        let reason = errorText(errno)
        unlink(temporary)
        throw FileError(path, reason)
    }
}

/// Removes `.NAME.PID.tmp` files in `directory` whose process is gone (kill(PID, 0) fails
/// with ESRCH): what a writer killed between creating its temporary file and renaming it
/// leaves. A live process's file, and any other name, is left alone.
func removeStaleTemporaries(in directory: String, prefix: String, name: String) {
    for pid in TemporaryFiles.shared.take(directory: directory, name: name) where kill(pid, 0) != 0 && errno == ESRCH {
        unlink(prefix + "." + name + ".\(pid).tmp")
    }
}

/// Other processes' temporary files (`.NAME.PID.tmp`) by directory and NAME. A directory is
/// listed once per process, at its first atomic write, not at every write: `--warped`
/// writes thousands of files into one directory.
private final class TemporaryFiles: @unchecked Sendable {
    static let shared = TemporaryFiles()
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var listed: [String: [String: [Int32]]] = [:]

    private init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    /// The pids of the temporary files for `name` in `directory` (each returned once).
    func take(directory: String, name: String) -> [Int32] {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if listed[directory] == nil { listed[directory] = Self.list(directory) }
        return listed[directory]?.removeValue(forKey: name) ?? []
    }

    /// `.NAME.PID.tmp` entries of `directory`, by NAME (this process's own left out).
    private static func list(_ directory: String) -> [String: [Int32]] {
        var found: [String: [Int32]] = [:]
        guard let handle = opendir(directory) else { return found }
        defer { closedir(handle) }
        let suffix = Array(".tmp".utf8)
        let own = getpid()
        while let entry = readdir(handle) {
            let entryName = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            guard entryName.first == UInt8(ascii: "."), entryName.count > 1 + suffix.count,
                Array(entryName.suffix(suffix.count)) == suffix
            else { continue }
            let stem = entryName[1 ..< entryName.count - suffix.count]  // NAME.PID
            guard let dot = stem.lastIndex(of: UInt8(ascii: ".")), dot > stem.startIndex else { continue }
            let digits = stem[(dot + 1)...]
            guard (1 ... 10).contains(digits.count), digits.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                let pid = Int32(String(decoding: digits, as: UTF8.self)), pid > 0, pid != own
            else { continue }
            found[String(decoding: stem[..<dot], as: UTF8.self), default: []].append(pid)
        }
        return found
    }
}
