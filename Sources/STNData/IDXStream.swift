#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// IDX images arriving one at a time on a descriptor (standard input fed by a capture
/// loop), raw or gzip: the header first, then each image as soon as its bytes are in, never
/// waiting for bytes past it. A count of 0 in the header means "until the end of the input".
public final class IDXStream {
    public let name: String
    public let rows: Int
    public let columns: Int
    /// 1 for an N x H x W stream, C for N x H x W x C.
    public let channels: Int
    /// The images the header declares; nil for a count of 0 (read to the end).
    public let declaredCount: Int?
    /// Images delivered so far.
    public private(set) var delivered = 0
    private let source: ByteReader

    public var pixelsPerImage: Int { rows * columns * channels }

    /// Reads and checks the header (waiting for its bytes); `name` names the stream in errors.
    public init(descriptor: Int32, name: String) throws {
        self.name = name
        let file = PushbackReader { buffer in
            while true {
                let n = read(descriptor, buffer.baseAddress, buffer.count)
                if n >= 0 { return n }
                if errno != EINTR { throw IDXError(name, .unreadable(String(cString: strerror(errno)))) }
            }
        }
        (source, _) = try IDX.payloadReader(file, path: name)
        let dims = try IDX.header(source, path: name, dimensions: 3, allowChannels: true)
        var frame = 1
        for d in dims.dropFirst() {
            let (product, overflow) = frame.multipliedReportingOverflow(by: d)
            guard !overflow, product <= IDX.maximumBytes else { throw IDXError(name, .tooLarge(dimensions: dims)) }
            frame = product
        }
        guard frame > 0 else { throw IDXError(name, .tooLarge(dimensions: dims)) }
        rows = dims[1]
        columns = dims[2]
        channels = dims.count == 4 ? dims[3] : 1
        declaredCount = dims[0] == 0 ? nil : dims[0]
    }

    /// The next image's pixels, or nil at the end: after the declared count (anything more
    /// is refused), or at the end of the input for a count of 0. An image cut short is refused.
    public func next() throws -> [UInt8]? {
        if let declaredCount, delivered == declaredCount {
            let extra = try source.read(1)
            guard extra.isEmpty else { throw IDXError(name, .moreThanDeclared(images: declaredCount)) }
            return nil
        }
        let pixels = try source.read(pixelsPerImage)
        if pixels.isEmpty && declaredCount == nil { return nil }
        guard pixels.count == pixelsPerImage else {
            guard let declaredCount else {
                // No size was declared: say what arrived, not a total the header never gave.
                throw IDXError(
                    name, .cutInsideImage(index: delivered, found: pixels.count, imageBytes: pixelsPerImage))
            }
            throw IDXError(
                name,
                .truncated(expected: declaredCount * pixelsPerImage, found: delivered * pixelsPerImage + pixels.count))
        }
        delivered += 1
        return pixels
    }
}
