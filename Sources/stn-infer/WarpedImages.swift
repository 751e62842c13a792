import STNCommandLine
import STNEngine
import STNImage
import STNModel
import STNSystem

/// --warped DIR: each image's transformer output (the rectified image the classifier
/// sees) as DIR/NAME-INDEX.png, NAME the input file's name without its extension and INDEX
/// the image's place in that file.
struct WarpedImages {
    let directory: String
    let shape: TensorShape

    /// Checks the model has a transformer with a grey or RGB output, then creates `directory`.
    init(directory: String, engine: Engine, weightsPath: String) throws {
        guard let shape = engine.sampledShape else {
            throw EngineError(
                "--warped: the model in \(weightsPath) has no spatial transformer, so there is no transformer output to write"
            )
        }
        guard shape.channels == 1 || shape.channels == 3 else {
            throw EngineError(
                "--warped: the transformer output has \(shape.channels) channels; PNG is written for 1 (grey) or 3 (RGB)"
            )
        }
        do {
            try createDirectories(directory)
        } catch let error as FileError {
            throw EngineError("--warped: \(error)")
        }
        self.directory = directory
        self.shape = shape
    }

    /// The file name stem for images of `path`: its name without .png, .pgm, .gz or .idx;
    /// "stdin" for standard input.
    static func stem(_ path: String) -> String {
        if path == "-" { return "stdin" }
        let name = baseName(path)
        for suffix in [".png", ".PNG", ".pgm", ".PGM", ".gz", ".idx"] where name.hasSuffix(suffix) && name != suffix {
            return String(name.dropLast(suffix.count))
        }
        return name
    }

    func path(stem: String, index: Int) -> String {
        directory + "/" + stem + formatted("-%04d.png", index)
    }

    /// Refuses inputs whose images would write the same file (same name in two directories).
    static func checkDistinct(_ paths: [String]) throws {
        var seen: [String: String] = [:]
        for path in paths {
            if let other = seen.updateValue(path, forKey: stem(path)) {
                throw EngineError(
                    "--warped: \(other) and \(path) would write the same files (\(stem(path))-NNNN.png); rename one")
            }
        }
    }

    /// For a model answering with an image (a rectifier): its answers, grey or RGB.
    init(answersIn directory: String, engine: Engine) throws {
        let shape = engine.answerShape
        guard shape.channels == 1 || shape.channels == 3 else {
            throw EngineError("the model answers with \(shape.channels)-channel images; PNG is written for 1 or 3")
        }
        do {
            try createDirectories(directory)
        } catch let error as FileError {
            throw EngineError("--images-out: \(error)")
        }
        self.directory = directory
        self.shape = shape
    }

    /// Writes the engine's last image answer (after `infer`) for image `index` of `stem`;
    /// returns the file's path.
    @discardableResult
    func writeAnswer(_ engine: Engine, stem: String, index: Int) throws -> String {
        var image = [Float](repeating: 0, count: shape.count)
        image.withUnsafeMutableBufferPointer { engine.lastImage(into: $0.baseAddress!) }
        return try image.withUnsafeBufferPointer { try write($0, stride: shape.channels, stem: stem, index: index) }
    }

    /// Writes the engine's last transformer output (after `infer`) for image `index` of `stem`.
    func write(_ engine: Engine, stem: String, index: Int) throws {
        let sampled = engine.lastSampled
        try write(sampled, stride: sampled.count / max(shape.height * shape.width, 1), stem: stem, index: index)
    }

    /// Writes height x width pixels of `stride` floats (the model's 0 ... 1 scale) as a PNG.
    @discardableResult
    private func write(_ sampled: UnsafeBufferPointer<Float>, stride: Int, stem: String, index: Int) throws -> String {
        let pixelsPerChannel = shape.height * shape.width
        var bytes = [UInt8](repeating: 0, count: pixelsPerChannel * shape.channels)
        for p in 0 ..< pixelsPerChannel {
            for c in 0 ..< shape.channels {
                // The model's input scale is 0 ... 1 for 0 ... 255.
                let v = sampled[p * stride + c] * 255
                bytes[p * shape.channels + c] = v.isNaN ? 0 : UInt8(min(255, max(0, v.rounded())))
            }
        }
        let png =
            shape.channels == 1
            ? PNG.encode(width: shape.width, height: shape.height, gray: bytes)
            : PNG.encode(width: shape.width, height: shape.height, rgb: bytes)
        let file = path(stem: stem, index: index)
        do {
            try writeAtomically(png, to: file)
        } catch let error as FileError {
            throw EngineError("\(error)")
        }
        return file
    }
}
