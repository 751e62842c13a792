#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// The names in the directory at `path` (not `.` and `..`), in the order the file system
/// gives them; a directory that cannot be opened or read is a `FileError` naming it.
public func directoryEntries(_ path: String) throws -> [String] {
    guard let handle = opendir(path) else {
        let code = errno
        throw FileError(path, code == ENOENT ? "no such directory" : errorText(code))
    }
    defer { closedir(handle) }
    var names: [String] = []
    while true {
        errno = 0
        guard let entry = readdir(handle) else {
            let code = errno
            if code != 0 { throw FileError(path, "cannot list directory: \(errorText(code))") }
            return names
        }
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
}

/// `path/name`, without doubling a trailing slash of `path`.
public func joinPath(_ path: String, _ name: String) -> String {
    path.hasSuffix("/") ? path + name : path + "/" + name
}
