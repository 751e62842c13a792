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

/// What is at `path` (following symbolic links).
public func fileKind(_ path: String) -> FileKind {
    var info = stat()
    guard stat(path, &info) == 0 else { return .missing }
    switch info.st_mode & S_IFMT {
    case S_IFREG: return .file
    case S_IFDIR: return .directory
    default: return .other
    }
}

public func fileExists(_ path: String) -> Bool { fileKind(path) != .missing }

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
/// directory is fine; a file in the way is an error naming it.
public func createDirectories(_ path: String) throws {
    switch fileKind(path) {
    case .directory: return
    case .file, .other: throw FileError(path, "exists and is not a directory")
    case .missing: break
    }
    let parent = directoryName(path)
    if parent != path { try createDirectories(parent) }
    guard mkdir(path, 0o777) == 0 || fileKind(path) == .directory else {
        throw FileError(path, "cannot create directory: \(String(cString: strerror(errno)))")
    }
}

/// Opens an existing regular file (or pipe) for reading: its descriptor, which the caller
/// closes, and its size as `stat` reports it (0 for a pipe).
public func openForReading(_ path: String) throws -> (descriptor: Int32, size: Int) {
    var info = stat()
    guard stat(path, &info) == 0 else { throw FileError(path, "no such file") }
    guard info.st_mode & S_IFMT != S_IFDIR else { throw FileError(path, "is a directory") }
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { throw FileError(path, String(cString: strerror(errno))) }
    return (descriptor, Int(info.st_size))
}

/// The whole file. The size is checked before reading: a file larger than `limit` bytes
/// is refused without being loaded.
public func readWholeFile(_ path: String, limit: Int = 1 << 31) throws -> [UInt8] {
    let (descriptor, size) = try openForReading(path)
    defer { close(descriptor) }
    guard size <= limit else { throw FileError(path, "file too large (\(size) bytes, at most \(limit))") }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: max(4096, size + 1))
    while true {
        let n = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard n >= 0 else { throw FileError(path, String(cString: strerror(errno))) }
        if n == 0 { break }
        bytes += chunk[..<n]
        // The file grew while we read it: still refuse more than the limit.
        guard bytes.count <= limit else { throw FileError(path, "file too large (more than \(limit) bytes)") }
    }
    return bytes
}

/// Writes `bytes` to a temporary file beside `path`, then renames it into place: readers
/// never see a partial file, and a failure leaves nothing behind.
public func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    let directory = directoryName(path)
    let temporary = (directory == "/" ? "" : directory) + "/." + baseName(path) + ".\(getpid()).tmp"
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard descriptor >= 0 else {
        let reason =
            fileKind(directory) == .directory
            ? "directory '\(directory)' is not writable" : "directory '\(directory)' does not exist"
        throw FileError(path, reason)
    }
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
        guard n > 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            unlink(temporary)
            throw FileError(path, reason)
        }
        written += n
    }
    guard close(descriptor) == 0, rename(temporary, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw FileError(path, reason)
    }
}
