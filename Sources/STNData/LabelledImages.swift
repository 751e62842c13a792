import STNSystem

/// How an image's samples are stored: `rows` x `columns` pixels, row after row, each of
/// `channels` 8-bit samples, the last of them alpha when `alpha` (grey + alpha, RGBA); or
/// float32 samples when `isFloat` (a float32 IDX file's, in `ImageScratch.floats`).
public struct ImageLayout: Sendable, Equatable, CustomStringConvertible {
    public var rows: Int
    public var columns: Int
    public var channels: Int
    public var alpha: Bool
    public var isFloat: Bool

    public init(rows: Int, columns: Int, channels: Int, alpha: Bool = false, isFloat: Bool = false) {
        self.rows = rows
        self.columns = columns
        self.channels = channels
        self.alpha = alpha
        self.isFloat = isFloat
    }

    public var sampleCount: Int { rows * columns * channels }
    /// Channels that carry colour (alpha left out).
    public var colours: Int { alpha ? channels - 1 : channels }
    /// "28x28", as rows x columns (an IDX file's order).
    public var size: String { "\(rows)x\(columns)" }
    /// "grey", "grey + alpha", "RGB", "RGBA" or "5-channel".
    public var kind: String {
        switch (channels, alpha) {
        case (1, false): return "grey"
        case (2, true): return "grey + alpha"
        case (3, false): return "RGB"
        case (4, true): return "RGBA"
        default: return "\(channels)-channel"
        }
    }
    public var description: String { "\(size) \(kind)" + (isFloat ? " float32" : "") }
}

/// A labelled set of images a training run draws from: an IDX pair (mapped or in memory),
/// image files (a class folder, a CSV), distorted MNIST digits, or a part of one of these.
///
/// Reads are independent of each other and of their order, and may run on several threads
/// at once, each with its own `ImageScratch`: image `index` of `epoch` is always the same
/// samples (a distortion draws from a stream keyed by seed, epoch and index).
public protocol LabelledImages: Sendable {
    var count: Int { get }
    /// The class of image `index` (0 ..< count).
    func label(_ index: Int) -> UInt8
    /// Writes image `index`, as drawn in `epoch`, into `scratch.samples` (or `scratch.floats`
    /// for a float layout) and returns its layout.
    func read(_ index: Int, epoch: Int, into scratch: ImageScratch) throws -> ImageLayout
    /// Where image `index` comes from, for messages: its file, or its place in a file.
    func origin(_ index: Int) -> String
    /// Whether every image has the same layout (an IDX file, MNIST): checking one checks all.
    var sharesOneLayout: Bool { get }
    /// Checks every image once before training, on `threads` threads: `check` sees each
    /// distinct layout with the first image that has it, and an image that cannot be read
    /// (a file that does not decode) is an error naming it, the first in index order.
    func checkImages(threads: Int, _ check: (ImageLayout, Int) throws -> Void) throws
    /// Refuses a label that is not one of `classes` classes, naming where it comes from.
    func checkLabels(classes: Int) throws
}

extension LabelledImages {
    /// Every label, in order.
    public var labels: [UInt8] { (0 ..< count).map(label) }

    public var sharesOneLayout: Bool { false }

    public func checkImages(threads: Int, _ check: (ImageLayout, Int) throws -> Void) throws {
        guard count > 0 else { return }
        if sharesOneLayout {
            try check(try read(0, epoch: 0, into: ImageScratch()), 0)
            return
        }
        var layouts = [ImageLayout?](repeating: nil, count: count)
        var failures = [Error?](repeating: nil, count: count)
        let parts = max(1, min(threads, count))
        let count = self.count
        layouts.withUnsafeMutableBufferPointer { layouts in
            failures.withUnsafeMutableBufferPointer { failures in
                // Each part writes only its own images' slots, with its own scratch.
                concurrentParts(parts) { part in
                    let scratch = ImageScratch()
                    for i in count * part / parts ..< count * (part + 1) / parts {
                        do {
                            layouts[i] = try read(i, epoch: 0, into: scratch)
                        } catch {
                            failures[i] = error
                        }
                    }
                }
            }
        }
        if let failure = failures.first(where: { $0 != nil }) { throw failure! }
        var seen: [ImageLayout] = []
        for (index, layout) in layouts.enumerated() where !seen.contains(layout!) {
            seen.append(layout!)
            try check(layout!, index)
        }
    }

    public func checkLabels(classes: Int) throws {
        if let bad = (0 ..< count).first(where: { Int(label($0)) >= classes }) {
            throw DataError(
                origin(bad), "label \(label(bad)) is not one of the model's \(classes) classes (0-\(classes - 1))")
        }
    }
}

/// One thread's scratch memory for reading and shaping images: reused for every image, so
/// reading an IDX image or rendering a distorted digit allocates nothing.
public final class ImageScratch {
    /// The samples of the image just read (`ImageLayout.sampleCount` of them at the front).
    public var samples: [UInt8] = []
    /// The same for an image of float samples.
    public var floats: [Float] = []
    var workspace: DistortionWorkspace?
    /// Room for the samples with their channels converted for the model (bytes or floats).
    private var conversionBytes: UnsafeMutableRawPointer?
    private var conversionCapacity = 0

    public init() {}

    deinit { conversionBytes?.deallocate() }

    /// Room for `count` converted samples of type `Sample`, valid until the next call.
    func conversion<Sample>(_ count: Int, of _: Sample.Type) -> UnsafeMutablePointer<Sample> {
        let bytes = max(1, count * MemoryLayout<Sample>.stride)
        if conversionCapacity < bytes {
            conversionBytes?.deallocate()
            conversionBytes = .allocate(byteCount: bytes, alignment: 16)
            conversionCapacity = bytes
        }
        return conversionBytes!.bindMemory(to: Sample.self, capacity: count)
    }

    /// `samples` with room for at least `count` values.
    func reserve(_ count: Int) {
        if samples.count < count { samples = [UInt8](repeating: 0, count: count) }
    }

    /// `floats` with room for at least `count` values.
    func reserveFloats(_ count: Int) {
        if floats.count < count { floats = [Float](repeating: 0, count: count) }
    }

    /// A workspace of at least `count` doubles for a distortion's `render`.
    func workspace(_ count: Int) -> DistortionWorkspace {
        if let workspace, workspace.count >= count { return workspace }
        let made = DistortionWorkspace(count: count)
        workspace = made
        return made
    }
}

/// Why training data could not be used: one line naming the file (or folder) and what is wrong.
public struct DataError: Error, Equatable, CustomStringConvertible, Sendable {
    public let path: String
    public let problem: String

    public init(_ path: String, _ problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
}
