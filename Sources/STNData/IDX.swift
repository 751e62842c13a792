#if canImport(Glibc)
    import STNSystem
    import Glibc
#else
    import Darwin
#endif

/// A stack of 8-bit grayscale images, row-major, one image after another.
public struct IDXImages: Sendable, Equatable {
    public var count: Int
    public var rows: Int
    public var columns: Int
    public var pixels: [UInt8]

    public init(count: Int, rows: Int, columns: Int, pixels: [UInt8]) {
        precondition(pixels.count == count * rows * columns, "pixel count does not match the shape")
        self.count = count
        self.rows = rows
        self.columns = columns
        self.pixels = pixels
    }

    public var pixelsPerImage: Int { rows * columns }

    /// The pixels of image `index`.
    public func image(_ index: Int) -> ArraySlice<UInt8> {
        pixels[index * pixelsPerImage ..< (index + 1) * pixelsPerImage]
    }

    /// The first `n` images.
    public func prefix(_ n: Int) -> IDXImages {
        let n = min(n, count)
        return IDXImages(count: n, rows: rows, columns: columns, pixels: Array(pixels[0 ..< n * pixelsPerImage]))
    }
}

/// IDX files (LeCun's MNIST format): idx1 unsigned-byte labels and idx3 unsigned-byte
/// images, raw or gzip-compressed (detected by magic bytes).
///
/// Reading validates everything the header claims against the actual payload before any
/// allocation sized by the header, so a forged header cannot cause a multi-GB allocation.
public enum IDX {
    /// The largest payload we accept (MNIST's largest file is 47 MB).
    public static let maximumBytes = 1 << 30

    public static func readImages(at path: String) throws -> IDXImages {
        let (dims, payload) = try read(path, dimensions: 3)
        return IDXImages(count: dims[0], rows: dims[1], columns: dims[2], pixels: payload)
    }

    public static func readLabels(at path: String) throws -> [UInt8] {
        try read(path, dimensions: 1).payload
    }

    /// Writes atomically (temporary file in the same directory, then rename).
    public static func writeImages(_ images: IDXImages, to path: String, gzip: Bool = false) throws {
        try write([images.count, images.rows, images.columns], images.pixels, to: path, gzip: gzip)
    }

    public static func writeLabels(_ labels: [UInt8], to path: String, gzip: Bool = false) throws {
        try write([labels.count], labels, to: path, gzip: gzip)
    }

    /// Parses an IDX byte stream (already decompressed).
    static func parse(_ bytes: [UInt8], path: String, dimensions expected: Int) throws -> (
        dims: [Int], payload: [UInt8]
    ) {
        guard bytes.count >= 4 else { throw IDXError(path, .tooShort(bytes: bytes.count)) }
        guard bytes[0] == 0, bytes[1] == 0 else { throw IDXError(path, .badMagic(bytes[0], bytes[1])) }
        guard bytes[2] == 0x08 else { throw IDXError(path, .badType(bytes[2])) }
        let rank = Int(bytes[3])
        guard rank == expected else { throw IDXError(path, .wrongDimensions(found: rank, expected: expected)) }
        let headerBytes = 4 + 4 * rank
        guard bytes.count >= headerBytes else { throw IDXError(path, .tooShort(bytes: bytes.count)) }
        var dims: [Int] = []
        for d in 0 ..< rank {
            let o = 4 + 4 * d
            dims.append(Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]))
        }
        // Each dimension is < 2^32, so the product fits in Int64 only if checked.
        var total = 1
        for d in dims {
            let (product, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow, product <= maximumBytes else { throw IDXError(path, .tooLarge(dimensions: dims)) }
            total = product
        }
        guard dims[0] > 0 else { throw IDXError(path, .zeroCount) }
        guard total > 0 else { throw IDXError(path, .tooLarge(dimensions: dims)) }
        let available = bytes.count - headerBytes
        guard available >= total else { throw IDXError(path, .truncated(expected: total, found: available)) }
        guard available == total else { throw IDXError(path, .trailingBytes(expected: total, found: available)) }
        return (dims, Array(bytes[headerBytes...]))
    }

    static func read(_ path: String, dimensions: Int) throws -> (dims: [Int], payload: [UInt8]) {
        var bytes = try readFile(path)
        if Gzip.isGzip(bytes) {
            do {
                // Header plus the largest payload we accept.
                bytes = try Gzip.decompress(bytes, limit: maximumBytes + 64)
            } catch Gzip.Failure.tooLarge {
                throw IDXError(path, .tooLarge(dimensions: []))
            } catch Gzip.Failure.corrupt(let reason) {
                throw IDXError(path, .corruptGzip(reason))
            }
        }
        return try parse(bytes, path: path, dimensions: dimensions)
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        do {
            return try readWholeFile(path, limit: maximumBytes + 64)
        } catch let error as FileError {
            if error.reason.hasPrefix("file too large") { throw IDXError(path, .tooLarge(dimensions: [])) }
            throw IDXError(path, .unreadable(error.reason))
        }
    }

    static func write(_ dims: [Int], _ payload: [UInt8], to path: String, gzip: Bool) throws {
        var bytes: [UInt8] = [0, 0, 0x08, UInt8(dims.count)]
        for d in dims {
            guard d >= 0, d <= Int(UInt32.max) else { throw IDXError(path, .tooLarge(dimensions: dims)) }
            bytes += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)]
        }
        bytes += payload
        if gzip { bytes = Gzip.compress(bytes) }
        do {
            try writeAtomically(bytes, to: path)
        } catch let error as FileError {
            throw IDXError(path, .unwritable(error.reason))
        }
    }
}
