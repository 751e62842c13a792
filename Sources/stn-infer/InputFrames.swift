import STNData
import STNImage
import STNModel
import STNSystem

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// How one image becomes a frame of the model's input: its channels converted (colour to
/// grey by Pillow's luma formula, grey to colour as R = G = B, alpha composited over the
/// background), inverted for --invert, and a 28x28 digit centred on a 42x42 model's canvas.
struct FrameShaper {
    let input: TensorShape
    let invert: Bool

    /// The sizes this model takes, for messages: rows x columns, or width x height.
    func acceptedSizes(widthFirst: Bool = false) -> String {
        let size = widthFirst ? "\(input.width)x\(input.height)" : "\(input.height)x\(input.width)"
        return takesCentredDigits ? "\(size) or 28x28 (centred)" : "\(size), the model's input"
    }

    /// 28x28 digits are centred on the canvas of a 42x42 model, as undistorted RTS digits are.
    var takesCentredDigits: Bool { input.height == 42 && input.width == 42 }

    /// Whether an image of this size runs on the model (as is, or centred).
    func accepts(rows: Int, columns: Int) -> Bool {
        (rows, columns) == (input.height, input.width) || (takesCentredDigits && rows == 28 && columns == 28)
    }

    /// Whether images of `channels` samples per pixel (the last alpha if `alpha`) convert.
    func accepts(channels: Int, alpha: Bool) -> Bool {
        PixelConversion.convert(
            [UInt8](repeating: 0, count: channels), channels: channels, alpha: alpha, to: input.channels)
            != nil
    }

    /// One image's 8-bit pixels (rows x columns x channels) as a frame of the model's input;
    /// the caller has checked `accepts` for its size and channels.
    func frame(_ pixels: [UInt8], rows: Int, columns: Int, channels: Int, alpha: Bool) -> [UInt8] {
        // Transparent pixels are background: black, or white for a dark-on-light (--invert) image.
        var converted =
            PixelConversion.convert(
                pixels, channels: channels, alpha: alpha, to: input.channels, background: invert ? 255 : 0) ?? []
        if invert { for i in converted.indices { converted[i] = 255 - converted[i] } }
        if (rows, columns) == (input.height, input.width) { return converted }
        // Centred on a black canvas, as an undistorted digit would be.
        let c = input.channels
        let top = (input.height - rows) / 2
        let left = (input.width - columns) / 2
        var canvas = [UInt8](repeating: 0, count: input.count)
        for y in 0 ..< rows {
            for x in 0 ..< columns * c {
                canvas[((y + top) * input.width + left) * c + x] = converted[y * columns * c + x]
            }
        }
        return canvas
    }
}

/// One input file's images as frames of the model's input, read as they are asked for: an
/// idx file (three dimensions, or four with channels) one image at a time, so memory holds
/// an image however many the header declares and nothing past --limit is read or inflated;
/// a PNG or PGM as its one frame.
final class FrameSource {
    let path: String
    /// The images the file holds (its header's count).
    let count: Int
    private let shaper: FrameShaper
    private let stream: IDXStream?
    private var image: [UInt8]?

    init(path: String, shaper: FrameShaper, stream: IDXStream) {
        self.path = path
        self.shaper = shaper
        self.stream = stream
        count = stream.declaredCount ?? 0
    }

    /// The images of an IDX stream already read into memory (a pipe or FIFO).
    private var held: (images: IDXImages, next: Int)?

    init(path: String, shaper: FrameShaper, images: IDXImages) {
        self.path = path
        self.shaper = shaper
        stream = nil
        held = (images, 0)
        count = images.count
    }

    init(path: String, shaper: FrameShaper, frame: [UInt8]) {
        self.path = path
        self.shaper = shaper
        stream = nil
        image = frame
        count = 1
    }

    /// The next image as a frame; the caller asks for at most `count`.
    func next() throws -> [UInt8] {
        if let (images, index) = held {
            held = (images, index + 1)
            return shaper.frame(
                Array(images.image(index)), rows: images.rows, columns: images.columns, channels: images.channels,
                alpha: false)
        }
        if let stream {
            guard let pixels = try stream.next() else {
                throw IDXError(path, .truncated(expected: count * stream.pixelsPerImage, found: 0))
            }
            return shaper.frame(
                pixels, rows: stream.rows, columns: stream.columns, channels: stream.channels, alpha: false)
        }
        defer { image = nil }
        return image ?? []
    }

    /// After the last image: anything more in the file is refused, as on a full read.
    func finish() throws {
        if let stream { _ = try stream.next() }
    }
}

/// The images of the command line, as frames of the model's input: idx files (three
/// dimensions, or four with channels), PNG and binary PGM, told apart by their first bytes.
enum Frames {
    /// Opens every input and checks what can be checked before the first frame: an idx
    /// file's header (size, channels, a raw file's length), an image's size from its header
    /// and then its pixels.
    static func open(_ paths: [String], shaper: FrameShaper) throws -> [FrameSource] {
        let input = shaper.input
        var sources: [FrameSource] = []
        for path in paths {
            // Opened once: a pipe or FIFO (`<(cat digit.png)`, /dev/stdin) is read as one
            // stream, its first bytes told apart here and then read again from memory; a
            // regular file is read again from its path, a batch at a time.
            let opened = try openInput(path)
            defer { close(opened.file.descriptor) }
            switch opened.kind {
            case .idx where !opened.file.isRegular:
                let images = try IDX.readFrames(descriptor: opened.file.descriptor, name: path, prefix: opened.start)
                guard shaper.accepts(rows: images.rows, columns: images.columns) else {
                    throw IDXError(
                        path,
                        .wrongImageSize(rows: images.rows, columns: images.columns, expected: shaper.acceptedSizes()))
                }
                guard shaper.accepts(channels: images.channels, alpha: false) else {
                    throw ImageReadError(
                        path, "images have \(images.channels) channels, the model takes \(input.channels)")
                }
                sources.append(FrameSource(path: path, shaper: shaper, images: images))
            case .idx:
                let images = try IDXStream(path: path)
                guard shaper.accepts(rows: images.rows, columns: images.columns) else {
                    throw IDXError(
                        path,
                        .wrongImageSize(rows: images.rows, columns: images.columns, expected: shaper.acceptedSizes()))
                }
                guard shaper.accepts(channels: images.channels, alpha: false) else {
                    throw ImageReadError(
                        path, "images have \(images.channels) channels, the model takes \(input.channels)")
                }
                sources.append(FrameSource(path: path, shaper: shaper, stream: images))
            case .image:
                func checkSize(width: Int, height: Int) throws {
                    guard shaper.accepts(rows: height, columns: width) else {
                        throw ImageReadError(
                            path,
                            "image is \(width)x\(height) (width x height), expected \(shaper.acceptedSizes(widthFirst: true))"
                        )
                    }
                }
                // The size is checked from the header, before any pixel is decoded.
                let image =
                    opened.file.isRegular
                    ? try ImageFile.read(path, accept: checkSize) : try readStreamedImage(opened, path: path)
                try checkSize(width: image.width, height: image.height)
                guard shaper.accepts(channels: image.channels, alpha: image.hasAlpha) else {
                    throw ImageReadError(
                        path, "a \(describe(image)) image cannot feed a model of \(input.channels) channels")
                }
                let frame = shaper.frame(
                    image.eightBitSamples, rows: image.height, columns: image.width, channels: image.channels,
                    alpha: image.hasAlpha)
                sources.append(FrameSource(path: path, shaper: shaper, frame: frame))
            }
        }
        return sources
    }

    enum Kind { case idx, image }

    /// An input opened for reading, its first bytes (up to 8) and what they say it holds.
    struct Input {
        let file: OpenedFile
        let start: [UInt8]
        let kind: Kind
    }

    /// Opens `path` and tells what it holds from its first bytes; the caller closes it.
    static func openInput(_ path: String) throws -> Input {
        let file: OpenedFile
        do {
            file = try openFile(path)
        } catch let error as FileError {
            throw ImageReadError(path, "cannot read file: \(error.reason)")
        }
        do {
            let start = try peek(file.descriptor, count: 8, path: path)
            return Input(file: file, start: start, kind: try kind(of: start, path: path))
        } catch {
            close(file.descriptor)
            throw error
        }
    }

    /// What a file starting with `start` holds.
    static func kind(of start: [UInt8], path: String) throws -> Kind {
        if start.isEmpty { throw ImageReadError(path, "empty file") }
        if ImageFile.recognises(start) { return .image }
        if start.starts(with: [0, 0]) || start.starts(with: [0x1F, 0x8B]) { return .idx }
        throw ImageReadError(path, "not a PNG, PGM (P5) or IDX file")
    }

    /// The first `count` bytes of `descriptor` (fewer only at its end): a pipe may hand them
    /// over in pieces.
    static func peek(_ descriptor: Int32, count: Int, path: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, count - filled) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw ImageReadError(path, "cannot read file: \(errorText(code))")
            }
            if n == 0 { break }
            filled += n
        }
        return Array(bytes[..<filled])
    }

    /// A PNG or PGM arriving on a stream: the peeked start, then the rest to its end.
    static func readStreamedImage(_ input: Input, path: String) throws -> DecodedImage {
        let rest: [UInt8]
        do {
            rest = try readAll(input.file.descriptor, path: path, limit: ImageFile.maximumBytes - input.start.count)
        } catch let error as FileError {
            throw ImageReadError(path, error.reason)
        }
        return try ImageFile.decode(input.start + rest, name: path)
    }

    static func describe(_ image: DecodedImage) -> String {
        ["grey", "grey and alpha", "RGB", "RGBA"][image.channels - 1]
    }
}
