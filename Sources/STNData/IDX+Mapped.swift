import STNSystem

/// IDX images mapped rather than read: a raw (uncompressed) file of any size costs no
/// memory up front, its pages are read as images are asked for.
extension IDX {
    /// The largest payload a mapped file may declare: its pages are read on demand, so this
    /// bounds only the address space (1 TiB), not memory.
    public static let maximumMappedBytes = 1 << 40

    /// The raw IDX file of images at `path` (N x H x W, or N x H x W x C; bytes or float32)
    /// mapped, with the header's checks of `readFrames`: its dimensions, its element type and
    /// where its pixels start. Nil for a gzip file or something that is not a regular file
    /// (those are read into memory).
    static func mapFrames(at path: String) throws -> (
        dims: [Int], element: IDXElement, file: MappedFile, offset: Int
    )? {
        let (kind, _) = fileStatus(path)
        guard kind == .file else { return nil }
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch let error as FileError {
            throw IDXError(path, .unreadable(error.reason))
        }
        let bytes = file.bytes
        if bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B { return nil }
        var offset = 0
        let reader = ByteReader { buffer in
            let n = min(buffer.count, bytes.count - offset)
            if n > 0 { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + n])) }
            offset += n
            return n
        }
        let (dims, element) = try header(reader, path: path, dimensions: 3, allowChannels: true, allowFloat: true)
        var total = element.size
        for d in dims {
            let (product, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow, product <= maximumMappedBytes else { throw IDXError(path, .tooLarge(dimensions: dims)) }
            total = product
        }
        guard dims[0] > 0 else { throw IDXError(path, .zeroCount) }
        guard total > 0 else { throw IDXError(path, .tooLarge(dimensions: dims)) }
        let headerBytes = 4 + 4 * dims.count
        let available = bytes.count - headerBytes
        guard available >= total else { throw IDXError(path, .truncated(expected: total, found: available)) }
        guard available == total else { throw IDXError(path, .trailingBytes(expected: total, found: available)) }
        // Training reads the images in a shuffled order.
        file.adviseRandomAccess()
        return (dims, element, file, headerBytes)
    }
}
