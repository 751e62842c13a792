import STNData
import STNImage
import STNModel
import STNSystem

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// How one image becomes a frame of the model's input: stn-train's rule (`FrameFitting`:
/// `--fit` for another size, `--color` for grey into an RGB model or RGB into a grey one,
/// 8-bit samples scaled by 1/255), with a 28x28 digit centred on a 42x42 model's canvas as
/// an undistorted RTS digit sits, and `--invert` first (alpha composited over white, then
/// 255 - v, so transparent is background either way).
struct FrameShaper {
    let fitting: FrameFitting
    let invert: Bool

    init(input: TensorShape, fit: FrameFitting.Fit = .refuse, color: FrameFitting.Color? = nil, invert: Bool) {
        var fitting = FrameFitting(
            rows: input.height, columns: input.width, channels: input.channels, fit: fit, color: color)
        fitting.centresDigits = true
        self.fitting = fitting
        self.invert = invert
    }

    /// Floats in one frame.
    var frameCount: Int { fitting.frameCount }

    /// Why images of `layout` cannot run on the model (one phrase after the file's name), or nil.
    func problem(_ layout: ImageLayout) -> String? { fitting.problem(layout) }

    /// One image's 8-bit samples as a frame (`frameCount` floats); the caller has checked
    /// `problem`. --invert inverts `samples` in place.
    func frame(
        _ samples: UnsafeMutablePointer<UInt8>, layout: ImageLayout, into frame: UnsafeMutablePointer<Float>,
        scratch: ImageScratch
    ) {
        var layout = layout
        if invert {
            // In place, alpha dropped: pixel p's colours move to p x colours, never past where they are read.
            let colours = layout.colours
            for p in 0 ..< layout.rows * layout.columns {
                let pixel = samples + p * layout.channels
                let alpha = layout.alpha ? pixel[colours] : 255
                for k in 0 ..< colours {
                    samples[p * colours + k] = 255 - PixelConversion.composite(pixel[k], alpha: alpha, over: 255)
                }
            }
            layout = ImageLayout(rows: layout.rows, columns: layout.columns, channels: colours)
        }
        fitting.frame(samples, layout: layout, into: frame, scratch: scratch)
    }

    /// The same for float samples (a float32 IDX file's, the model's input values as they
    /// are); --invert makes each v 1 - v, in place.
    func frame(
        floats samples: UnsafeMutablePointer<Float>, layout: ImageLayout, into frame: UnsafeMutablePointer<Float>,
        scratch: ImageScratch
    ) {
        if invert { for i in 0 ..< layout.sampleCount { samples[i] = 1 - samples[i] } }
        fitting.frame(floats: samples, layout: layout, into: frame, scratch: scratch)
    }

    /// The next image of `stream` as a frame, into `frame`; false at the stream's end.
    func next(from stream: IDXStream, into frame: UnsafeMutablePointer<Float>, scratch: ImageScratch) throws -> Bool {
        guard let layout = try stream.next(into: scratch) else { return false }
        if layout.isFloat {
            scratch.floats.withUnsafeMutableBufferPointer {
                self.frame(floats: $0.baseAddress!, layout: layout, into: frame, scratch: scratch)
            }
        } else {
            scratch.samples.withUnsafeMutableBufferPointer {
                self.frame($0.baseAddress!, layout: layout, into: frame, scratch: scratch)
            }
        }
        return true
    }
}

/// One input file's images as frames of the model's input, read as they are asked for: an
/// idx file (three dimensions, or four with channels; a regular file, a pipe or a FIFO) one
/// image at a time, so memory holds an image however many the header declares and nothing
/// past --limit is read or inflated; a PNG or PGM as its one frame, made when it is opened.
final class FrameSource {
    let path: String
    /// The images the file holds (its header's count).
    let count: Int
    private let shaper: FrameShaper
    private let stream: IDXStream?
    private var image: [Float]?
    private let scratch = ImageScratch()

    init(path: String, shaper: FrameShaper, stream: IDXStream) {
        self.path = path
        self.shaper = shaper
        self.stream = stream
        count = stream.declaredCount ?? 0
    }

    init(path: String, shaper: FrameShaper, frame: [Float]) {
        self.path = path
        self.shaper = shaper
        stream = nil
        image = frame
        count = 1
    }

    /// The next image as a frame, into `frame` (`shaper.frameCount` floats); the caller asks
    /// for at most `count`.
    func next(into frame: UnsafeMutablePointer<Float>) throws {
        if let stream {
            guard try shaper.next(from: stream, into: frame, scratch: scratch) else {
                throw IDXError(path, .truncated(expected: count * stream.bytesPerImage, found: 0))
            }
            return
        }
        if let image { frame.update(from: image, count: image.count) }
        image = nil
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
        var sources: [FrameSource] = []
        for path in paths {
            // Opened once: a pipe or FIFO (`<(cat digit.png)`, /dev/stdin) is read as one
            // stream, its first bytes told apart here and then read on from them; a regular
            // file is read again from its path, an image at a time.
            let opened = try openInput(path)
            switch opened.kind {
            case .idx:
                let stream: IDXStream
                if opened.file.isRegular {
                    close(opened.file.descriptor)
                    stream = try IDXStream(path: path)
                } else {
                    stream = try IDXStream(opened: opened.file.descriptor, name: path, prefix: opened.start)
                }
                // The shape is known from the header: refuse a file that does not fit at once.
                if let problem = shaper.problem(stream.layout) { throw ImageReadError(path, problem) }
                sources.append(FrameSource(path: path, shaper: shaper, stream: stream))
            case .image:
                defer { close(opened.file.descriptor) }
                // The size is checked from the header, before any pixel is decoded.
                func checkSize(width: Int, height: Int) throws {
                    if let problem = shaper.fitting.sizeProblem(rows: height, columns: width) {
                        throw ImageReadError(path, problem)
                    }
                }
                let image =
                    opened.file.isRegular
                    ? try ImageFile.read(path, accept: checkSize) : try readStreamedImage(opened, path: path)
                let layout = ImageLayout(
                    rows: image.height, columns: image.width, channels: image.channels, alpha: image.hasAlpha)
                if let problem = shaper.problem(layout) { throw ImageReadError(path, problem) }
                var samples = image.eightBitSamples
                var frame = [Float](repeating: 0, count: shaper.frameCount)
                samples.withUnsafeMutableBufferPointer { samples in
                    frame.withUnsafeMutableBufferPointer {
                        shaper.frame(
                            samples.baseAddress!, layout: layout, into: $0.baseAddress!, scratch: ImageScratch())
                    }
                }
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
}
