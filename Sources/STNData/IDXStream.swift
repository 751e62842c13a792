import STNSystem

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// IDX images arriving one at a time on a descriptor (standard input fed by a capture
/// loop), raw or gzip: the header first, then each image as soon as its bytes are in, never
/// waiting for bytes past it. A count of 0 in the header means "until the end of the input".
///
/// `init(path:)` reads an IDX file the same way, with the checks of `IDX.readFrames`: a
/// memory that holds one image however many the header declares, and a caller that stops
/// early (stn-infer --limit) never inflates the rest of a gzip file.
public final class IDXStream {
    public let name: String
    public let rows: Int
    public let columns: Int
    /// 1 for an N x H x W stream, C for N x H x W x C.
    public let channels: Int
    /// Unsigned bytes or float32.
    public let element: IDXElement
    /// The images the header declares; nil for a count of 0 (read to the end).
    public let declaredCount: Int?
    /// Images delivered so far.
    public private(set) var delivered = 0
    private let source: ByteReader
    /// A file (not a stream): what follows the declared images is counted as `IDX.read`
    /// counts it, and for a raw file of known size it was checked before the first image.
    private let isFile: Bool
    private let sizeChecked: Bool

    /// Samples in one image.
    public var pixelsPerImage: Int { rows * columns * channels }
    /// Bytes of one image in the stream.
    public var bytesPerImage: Int { pixelsPerImage * element.size }

    /// Every image's layout.
    public var layout: ImageLayout {
        ImageLayout(rows: rows, columns: columns, channels: channels, isFloat: element == .float32)
    }

    /// Reads and checks the header (waiting for its bytes); `name` names the stream in errors.
    public convenience init(descriptor: Int32, name: String) throws {
        try self.init(descriptor: descriptor, name: name, fileSize: nil, owner: nil)
    }

    /// An IDX file that is not a regular file (a pipe or FIFO named on the command line), of
    /// which `prefix` was already read (a peek at its start): read once, from `prefix` on,
    /// with the checks of a file whose size is not known (a count of zero is refused, bytes
    /// after the declared images too). The stream takes the descriptor over and closes it.
    public convenience init(opened descriptor: Int32, name: String, prefix: [UInt8]) throws {
        try self.init(descriptor: descriptor, name: name, fileSize: 0, owner: OpenFile(descriptor), prefix: prefix)
    }

    /// Opens the IDX file at `path` (raw or gzip) and checks its header as `IDX.readFrames`
    /// does (a count of zero and more than `IDX.maximumBytes` of images are refused; a raw
    /// regular file's size must match the header), reading nothing past it.
    public convenience init(path: String) throws {
        let descriptor: Int32
        let size: Int
        do {
            (descriptor, size) = try openForReading(path)
        } catch let error as FileError {
            throw IDXError(path, .unreadable(error.reason))
        }
        let owner = OpenFile(descriptor)
        try self.init(descriptor: descriptor, name: path, fileSize: size, owner: owner)
    }

    private init(descriptor: Int32, name: String, fileSize: Int?, owner: OpenFile?, prefix: [UInt8] = []) throws {
        self.name = name
        let file = PushbackReader { buffer in
            // The reader keeps the file open for as long as it is read.
            withExtendedLifetime(owner) {}
            while true {
                let n = read(descriptor, buffer.baseAddress, buffer.count)
                if n >= 0 { return n }
                if errno != EINTR { throw IDXError(name, .unreadable(String(cString: strerror(errno)))) }
            }
        }
        file.unread(prefix)
        let compressed: Bool
        (source, compressed) = try IDX.payloadReader(file, path: name)
        let (dims, element) = try IDX.header(source, path: name, dimensions: 3, allowChannels: true, allowFloat: true)
        var frame = element.size
        for d in dims.dropFirst() {
            let (product, overflow) = frame.multipliedReportingOverflow(by: d)
            guard !overflow, product <= IDX.maximumBytes else { throw IDXError(name, .tooLarge(dimensions: dims)) }
            frame = product
        }
        guard frame > 0 else { throw IDXError(name, .tooLarge(dimensions: dims)) }
        isFile = fileSize != nil
        sizeChecked = !compressed && (fileSize ?? 0) > 0
        if let fileSize {
            guard dims[0] > 0 else { throw IDXError(name, .zeroCount) }
            let (total, overflow) = frame.multipliedReportingOverflow(by: dims[0])
            guard !overflow, total <= IDX.maximumBytes else { throw IDXError(name, .tooLarge(dimensions: dims)) }
            if sizeChecked {
                let available = fileSize - (4 + 4 * dims.count)
                guard available >= total else { throw IDXError(name, .truncated(expected: total, found: available)) }
                guard available == total else {
                    throw IDXError(name, .trailingBytes(expected: total, found: available))
                }
            }
        }
        rows = dims[1]
        columns = dims[2]
        channels = dims.count == 4 ? dims[3] : 1
        self.element = element
        declaredCount = dims[0] == 0 ? nil : dims[0]
    }

    /// The next image's bytes as stored (big-endian for float32), or nil at the end: after the
    /// declared count (anything more is refused), or at the end of the input for a count of 0.
    /// An image cut short is refused.
    public func next() throws -> [UInt8]? {
        let size = bytesPerImage
        if let declaredCount, delivered == declaredCount {
            if sizeChecked { return nil }
            if isFile {
                // As IDX.read counts them, up to a bound (a gzip bomb is not inflated to its end).
                let total = declaredCount * size
                let extra = try source.read(IDX.trailingCountLimit)
                guard extra.isEmpty else {
                    guard extra.count < IDX.trailingCountLimit else {
                        throw IDXError(name, .excessData(expected: total))
                    }
                    throw IDXError(name, .trailingBytes(expected: total, found: total + extra.count))
                }
                return nil
            }
            let extra = try source.read(1)
            guard extra.isEmpty else { throw IDXError(name, .moreThanDeclared(images: declaredCount)) }
            return nil
        }
        let bytes = try source.read(size)
        if bytes.isEmpty && declaredCount == nil { return nil }
        guard bytes.count == size else {
            guard let declaredCount else {
                // No size was declared: say what arrived, not a total the header never gave.
                throw IDXError(name, .cutInsideImage(index: delivered, found: bytes.count, imageBytes: size))
            }
            throw IDXError(
                name, .truncated(expected: declaredCount * size, found: delivered * size + bytes.count))
        }
        delivered += 1
        return bytes
    }

    /// The next image into `scratch` as a training set's `read` gives it (bytes in
    /// `samples`, float32 values in `floats`, a NaN or infinity refused naming the image); its
    /// layout, or nil at the end (as `next()`).
    public func next(into scratch: ImageScratch) throws -> ImageLayout? {
        guard let bytes = try next() else { return nil }
        let layout = self.layout
        let count = pixelsPerImage
        switch element {
        case .unsignedByte:
            scratch.reserve(count)
            scratch.samples.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: bytes, count: count) }
        case .float32:
            scratch.reserveFloats(count)
            try bytes.withUnsafeBytes { bytes in
                try scratch.floats.withUnsafeMutableBufferPointer { floats in
                    if let bad = IDXElement.decodeFloats(bytes.baseAddress!, count: count, into: floats.baseAddress!) {
                        throw IDXError.nonFinite(
                            name, image: delivered - 1, sample: bad, value: floats[bad], layout: layout)
                    }
                }
            }
        }
        return layout
    }
}

/// A descriptor closed when the last reader of it goes.
private final class OpenFile {
    let descriptor: Int32
    init(_ descriptor: Int32) { self.descriptor = descriptor }
    deinit { close(descriptor) }
}
