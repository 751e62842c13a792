#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// A regular file mapped read-only into memory: its bytes are paged in as they are read and
/// dropped by the kernel under memory pressure, so a data set larger than memory can be
/// read at random (a training run's shuffled batches) without loading it. The mapping lives
/// as long as the object; the file is not kept open.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// The file's bytes (empty for an empty file). Read-only; valid while `self` lives.
    public let bytes: UnsafeRawBufferPointer

    /// Maps the regular file at `path`; anything else (a pipe, a device) is refused, as is
    /// a file that cannot be opened or mapped, with a `FileError` naming it.
    public init(path: String) throws {
        let file = try openFile(path)
        defer { close(file.descriptor) }
        guard file.isRegular else { throw FileError(path, "not a regular file (it cannot be mapped)") }
        self.path = path
        guard file.size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let raw = mmap(nil, file.size, PROT_READ, MAP_PRIVATE, file.descriptor, 0), raw != MAP_FAILED else {
            throw FileError(path, "cannot map file: \(errorText(errno))")
        }
        bytes = UnsafeRawBufferPointer(start: raw, count: file.size)
    }

    /// Tells the kernel the bytes will be read at random (a shuffled data set): no
    /// read-ahead around each page read, so only the pages asked for come into memory.
    public func adviseRandomAccess() {
        if let base = bytes.baseAddress {
            _ = madvise(UnsafeMutableRawPointer(mutating: base), bytes.count, MADV_RANDOM)
        }
    }

    /// Lets the pages of `range` go from this process's memory once read through (a scan of
    /// the whole file): they stay in the page cache and come back when read again. Only whole
    /// pages inside the range go.
    public func releasePages(_ range: Range<Int>) {
        guard let base = bytes.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        // The mapping starts on a page boundary, so offsets round as addresses do.
        let start = (range.lowerBound + page - 1) / page * page
        let end = range.upperBound / page * page
        guard start < end else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}
