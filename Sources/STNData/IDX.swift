#if canImport(Glibc)
    import STNSystem
    import Glibc
#else
    import Darwin
#endif

/// A stack of 8-bit images, row-major, one image after another: grayscale, or `channels`
/// samples per pixel (height x width x channels, as an idx file of four dimensions holds them).
public struct IDXImages: Sendable, Equatable {
    public var count: Int
    public var rows: Int
    public var columns: Int
    public var channels: Int
    public var pixels: [UInt8]

    public init(count: Int, rows: Int, columns: Int, channels: Int = 1, pixels: [UInt8]) {
        precondition(pixels.count == count * rows * columns * channels, "pixel count does not match the shape")
        self.count = count
        self.rows = rows
        self.columns = columns
        self.channels = channels
        self.pixels = pixels
    }

    public var pixelsPerImage: Int { rows * columns * channels }

    /// The pixels of image `index`.
    public func image(_ index: Int) -> ArraySlice<UInt8> {
        pixels[index * pixelsPerImage ..< (index + 1) * pixelsPerImage]
    }

    /// The first `n` images.
    public func prefix(_ n: Int) -> IDXImages {
        let n = min(n, count)
        return IDXImages(
            count: n, rows: rows, columns: columns, channels: channels, pixels: Array(pixels[0 ..< n * pixelsPerImage]))
    }
}

/// IDX files (LeCun's MNIST format): idx1 unsigned-byte labels and idx3 unsigned-byte
/// images, raw or gzip-compressed (detected by magic bytes); training and inference also read
/// float32 images (`IDXElement`: `IDXImageSet`, `IDXStream`).
///
/// Reading checks the header as soon as its bytes arrive (inflating gzip incrementally) and
/// then takes exactly the declared payload, with memory growing only with the bytes actually
/// read: a forged header, a gzip bomb or /dev/zero costs a few kilobytes and milliseconds.
public enum IDX {
    /// The largest payload we accept (MNIST's largest file is 47 MB).
    public static let maximumBytes = 1 << 30

    public static func readImages(at path: String) throws -> IDXImages {
        let (dims, _, payload) = try read(path, dimensions: 3)
        return IDXImages(count: dims[0], rows: dims[1], columns: dims[2], pixels: payload)
    }

    /// 8-bit images of three dimensions (N x H x W, grey) or four (N x H x W x C, C samples per pixel).
    public static func readFrames(at path: String) throws -> IDXImages {
        let (dims, _, payload) = try read(path, dimensions: 3, allowChannels: true)
        return IDXImages(
            count: dims[0], rows: dims[1], columns: dims[2], channels: dims.count == 4 ? dims[3] : 1, pixels: payload)
    }

    public static func readLabels(at path: String) throws -> [UInt8] {
        try read(path, dimensions: 1).payload
    }

    /// Checks the labels read from `path` against what they label: exactly one per image,
    /// each a class of the model (below `classes`).
    public static func checkLabels(_ labels: [UInt8], at path: String, imageCount: Int, classes: Int) throws {
        guard labels.count == imageCount else {
            throw IDXError(path, .countMismatch(images: imageCount, labels: labels.count))
        }
        if let bad = labels.firstIndex(where: { Int($0) >= classes }) {
            throw IDXError(path, .labelOutOfRange(index: bad, value: labels[bad], classes: classes))
        }
    }

    /// Writes atomically (temporary file in the same directory, then rename): three
    /// dimensions (N x H x W) for grey images, four (N x H x W x C) for `channels` > 1, as
    /// `readFrames(at:)` reads them.
    public static func writeImages(_ images: IDXImages, to path: String, gzip: Bool = false) throws {
        let channels = images.channels > 1 ? [images.channels] : []
        try write([images.count, images.rows, images.columns] + channels, images.pixels, to: path, gzip: gzip)
    }

    public static func writeLabels(_ labels: [UInt8], to path: String, gzip: Bool = false) throws {
        try write([labels.count], labels, to: path, gzip: gzip)
    }

    /// Writes float32 images (type 0x0D, big-endian) atomically: `values` holds `count`
    /// images of rows x columns x channels, three dimensions for one channel, else four.
    public static func writeFloatImages(
        _ values: [Float], count: Int, rows: Int, columns: Int, channels: Int = 1, to path: String, gzip: Bool = false
    ) throws {
        precondition(values.count == count * rows * columns * channels, "value count does not match the shape")
        let dims = [count, rows, columns] + (channels > 1 ? [channels] : [])
        try write(dims, IDXElement.encode(values), to: path, gzip: gzip, element: .float32)
    }

    /// Reads an IDX file, raw or gzip, as its bytes arrive: the header is checked as soon as
    /// it is in (a file that is not IDX, or declares an absurd size, is refused after a few
    /// bytes, naming the dimensions), then exactly the declared payload is read, never more,
    /// and anything after it is refused. Memory grows with the data actually read, up to
    /// the declared size, so a forged header or a gzip bomb costs nothing.
    /// With `allowFloat`, float32 values are accepted too (the payload holds their bytes).
    static func read(
        _ path: String, dimensions expected: Int, allowChannels: Bool = false, allowFloat: Bool = false
    ) throws -> (dims: [Int], element: IDXElement, payload: [UInt8]) {
        let (descriptor, size) = try mapFileError(path) { try openForReading(path) }
        defer { close(descriptor) }
        return try read(
            descriptor: descriptor, size: size, path: path, dimensions: expected,
            allowChannels: allowChannels, allowFloat: allowFloat)
    }

    /// `read` from an open descriptor.
    private static func read(
        descriptor: Int32, size: Int, path: String, dimensions expected: Int, allowChannels: Bool, allowFloat: Bool
    ) throws -> (dims: [Int], element: IDXElement, payload: [UInt8]) {
        let file = PushbackReader { buffer in
            while true {
                let n = readDescriptor(descriptor, buffer)
                if n >= 0 { return n }
                let code = errno
                if code != EINTR { throw IDXError(path, .unreadable(errorText(code))) }
            }
        }
        return try decode(
            file, size: size, path: path, dimensions: expected, allowChannels: allowChannels, allowFloat: allowFloat)
    }

    /// Bytes already in memory (a download, a fuzzer's input), raw or gzip, with the checks
    /// of a file; `path` names them in messages.
    static func decode(_ bytes: [UInt8], path: String, dimensions expected: Int) throws -> (
        dims: [Int], element: IDXElement, payload: [UInt8]
    ) {
        var offset = 0
        let memory = PushbackReader { buffer in
            let n = min(buffer.count, bytes.count - offset)
            bytes.withUnsafeBytes {
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset ..< offset + n]))
            }
            offset += n
            return n
        }
        return try decode(memory, size: bytes.count, path: path, dimensions: expected)
    }

    /// The format itself, from any source of bytes; `size` is the raw byte count when known
    /// (0 otherwise), so a short or long raw payload is refused before any allocation.
    private static func decode(
        _ file: PushbackReader, size: Int, path: String, dimensions expected: Int, allowChannels: Bool = false,
        allowFloat: Bool = false
    ) throws -> (dims: [Int], element: IDXElement, payload: [UInt8]) {
        let (source, compressed) = try payloadReader(file, path: path)
        let (dims, element) = try header(
            source, path: path, dimensions: expected, allowChannels: allowChannels, allowFloat: allowFloat)
        let rank = dims.count
        // Each dimension is < 2^32, so the product fits in Int64 only if checked.
        var total = element.size
        for d in dims {
            let (product, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow, product <= maximumBytes else { throw IDXError(path, .tooLarge(dimensions: dims)) }
            total = product
        }
        guard dims[0] > 0 else { throw IDXError(path, .zeroCount) }
        guard total > 0 else { throw IDXError(path, .tooLarge(dimensions: dims)) }
        let headerBytes = 4 + 4 * rank
        // A raw regular file's size tells a short or long payload before any allocation.
        if !compressed && size > 0 {
            let available = size - headerBytes
            guard available >= total else { throw IDXError(path, .truncated(expected: total, found: available)) }
            guard available == total else {
                throw IDXError(path, .trailingBytes(expected: total, found: available))
            }
        }

        let payload = try source.read(total)
        guard payload.count == total else { throw IDXError(path, .truncated(expected: total, found: payload.count)) }
        // A raw regular file's size already said nothing follows.
        if !compressed && size > 0 { return (dims, element, payload) }
        // Nothing may follow: count what does, up to a bound (a gzip bomb behind a small
        // header is not inflated to the end to count it).
        let extra = try source.read(trailingCountLimit)
        guard extra.isEmpty else {
            guard extra.count < trailingCountLimit else { throw IDXError(path, .excessData(expected: total)) }
            throw IDXError(path, .trailingBytes(expected: total, found: total + extra.count))
        }
        return (dims, element, payload)
    }

    /// The file's bytes, inflated if they are gzip (two bytes tell gzip, 1f 8b, from raw IDX, 00 00).
    static func payloadReader(_ file: PushbackReader, path: String) throws -> (ByteReader, compressed: Bool) {
        let magic = try file.read(2)
        file.unread(magic)
        guard Gzip.isGzip(magic) else { return (ByteReader(file.read(into:)), false) }
        let decoder = try gzip(path) { try GzipDecoder(refill: file.read(into:)) }
        return (ByteReader { buffer in try gzip(path) { try decoder.read(into: buffer) } }, true)
    }

    /// The magic, element type and dimensions: `expected` of them, or one more (channels)
    /// after three when `allowChannels`; the element unsigned bytes, or float32 too when
    /// `allowFloat`.
    static func header(
        _ source: ByteReader, path: String, dimensions expected: Int, allowChannels: Bool, allowFloat: Bool = false
    ) throws -> (dims: [Int], element: IDXElement) {
        let start = try source.read(4)
        guard start.count == 4 else { throw IDXError(path, .tooShort(bytes: start.count)) }
        guard start[0] == 0, start[1] == 0 else { throw IDXError(path, .badMagic(start[0], start[1])) }
        guard let element = IDXElement(rawValue: start[2]), allowFloat || element == .unsignedByte else {
            throw IDXError(path, allowFloat ? .badImageType(start[2]) : .badType(start[2]))
        }
        let rank = Int(start[3])
        guard rank == expected || (allowChannels && expected == 3 && rank == 4) else {
            throw IDXError(path, .wrongDimensions(found: rank, expected: expected))
        }
        let sizes = try source.read(4 * rank)
        guard sizes.count == 4 * rank else { throw IDXError(path, .tooShort(bytes: 4 + sizes.count)) }
        var dims: [Int] = []
        for d in 0 ..< rank {
            let o = 4 * d
            dims.append(Int(sizes[o]) << 24 | Int(sizes[o + 1]) << 16 | Int(sizes[o + 2]) << 8 | Int(sizes[o + 3]))
        }
        return (dims, element)
    }

    /// How many bytes past the payload are read to count them in the message.
    static let trailingCountLimit = 1 << 20

    /// Runs `body`, reporting a file error as this IDX file's.
    private static func mapFileError<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as FileError {
            throw IDXError(path, .unreadable(error.reason))
        }
    }

    /// Runs `body`, reporting a gzip failure as this IDX file's.
    private static func gzip<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch Gzip.Failure.corrupt(let reason) {
            throw IDXError(path, .corruptGzip(reason))
        }
    }

    static func write(
        _ dims: [Int], _ payload: [UInt8], to path: String, gzip: Bool, element: IDXElement = .unsignedByte
    ) throws {
        var bytes: [UInt8] = [0, 0, element.rawValue, UInt8(dims.count)]
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

/// Bytes from a function that fills a buffer (0 at the end): exact counts on top of it.
struct ByteReader {
    let fill: (UnsafeMutableRawBufferPointer) throws -> Int

    init(_ fill: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) { self.fill = fill }

    /// Up to `count` bytes: fewer only at the end of the data. The array grows with the
    /// bytes that arrive, so a count the data does not back costs no memory.
    func read(_ count: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(count, 1 << 16))
        var chunk = [UInt8](repeating: 0, count: min(count, 1 << 16))
        while bytes.count < count {
            let want = min(chunk.count, count - bytes.count)
            let n = try chunk.withUnsafeMutableBytes { try fill(UnsafeMutableRawBufferPointer(rebasing: $0[..<want])) }
            if n == 0 { break }
            if bytes.count + n > bytes.capacity {
                // Grow by doubling, but never past the count asked for.
                bytes.reserveCapacity(min(count, max(bytes.capacity * 2, bytes.count + n)))
            }
            bytes += chunk[..<n]
        }
        return bytes
    }
}

/// Reads bytes from a source (a file descriptor, memory), with bytes pushed back to be read
/// first (the peeked magic).
final class PushbackReader {
    private let source: (UnsafeMutableRawBufferPointer) throws -> Int
    private var pending: [UInt8] = []

    init(_ source: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) {
        self.source = source
    }

    func unread(_ bytes: [UInt8]) { pending = bytes + pending }

    /// Fills up to `buffer.count` bytes; 0 at the end of the data.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if !pending.isEmpty {
            let n = min(buffer.count, pending.count)
            pending.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            pending.removeFirst(n)
            return n
        }
        return try source(buffer)
    }

    /// Up to `count` bytes, fewer only at the end of the data.
    func read(_ count: Int) throws -> [UInt8] {
        try ByteReader(read(into:)).read(count)
    }
}

/// read(2), outside any type whose own `read` would hide it.
private func readDescriptor(_ descriptor: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
    read(descriptor, buffer.baseAddress, buffer.count)
}
