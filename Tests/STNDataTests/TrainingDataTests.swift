import Foundation
import STNImage
import STNTestSupport
import XCTest

@testable import STNData

/// The user's training data: IDX pairs (mapped or inflated), image folders and CSV lists,
/// the fixed validation split, and how images are fitted to a model's frames.
final class TrainingDataTests: XCTestCase {
    func write(_ bytes: [UInt8], to path: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// A grey PGM of `width` x `height`, every sample `value`.
    func pgm(width: Int, height: Int, value: UInt8) -> [UInt8] {
        Array("P5\n\(width) \(height)\n255\n".utf8) + [UInt8](repeating: value, count: width * height)
    }

    func frame(_ fitting: FrameFitting, _ samples: [UInt8], _ layout: ImageLayout) -> [Float] {
        var out = [Float](repeating: -1, count: fitting.frameCount)
        samples.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer {
                fitting.frame(s.baseAddress!, layout: layout, into: $0.baseAddress!, scratch: ImageScratch())
            }
        }
        return out
    }

    /// Values from PyTorch: F.interpolate(x / 255, size, mode="bilinear", align_corners=False)
    /// of the 2x3 image [[10, 200, 30], [250, 0, 128]] to 4x5, and of a 3x4 image to 2x2.
    func testResizeIsPyTorchsBilinear() {
        let up = frame(
            FrameFitting(rows: 4, columns: 5, channels: 1, fit: .resize), [10, 200, 30, 250, 0, 128],
            ImageLayout(rows: 2, columns: 3, channels: 1))
        let expectedUp: [Float] = [
            0.039215688, 0.33725494, 0.78431374, 0.38431364, 0.11764706, 0.27450982, 0.40000001, 0.58823532,
            0.36352935, 0.21372549, 0.74509805, 0.52549022, 0.19607843, 0.32196084, 0.40588236, 0.98039216,
            0.58823532, 0.0, 0.30117658, 0.50196081,
        ]
        for (a, b) in zip(up, expectedUp) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        let down = frame(
            FrameFitting(rows: 2, columns: 2, channels: 1, fit: .resize),
            [10, 200, 30, 40, 250, 0, 128, 90, 1, 2, 3, 4], ImageLayout(rows: 3, columns: 4, channels: 1))
        for (a, b) in zip(down, [0.43137258, 0.20980392, 0.12696078, 0.11715687] as [Float]) {
            XCTAssertEqual(a, b, accuracy: 1e-6)
        }
    }

    func testPadCentresOnABlackCanvasAndRefusesLargerImages() {
        let fitting = FrameFitting(rows: 4, columns: 5, channels: 1, fit: .pad)
        let small = ImageLayout(rows: 2, columns: 2, channels: 1)
        XCTAssertNil(fitting.problem(small))
        let out = frame(fitting, [255, 255, 255, 255], small)
        // Top (4 - 2) / 2 = 1, left (5 - 2) / 2 = 1.
        var expected = [Float](repeating: 0, count: 20)
        for i in [6, 7, 11, 12] { expected[i] = 1 }
        XCTAssertEqual(out, expected)
        XCTAssertEqual(
            fitting.problem(ImageLayout(rows: 6, columns: 5, channels: 1)),
            "image is 5x6 (width x height), larger than the model's 5x4: --fit pad only adds borders; pass --fit resize"
        )
        XCTAssertEqual(
            FrameFitting(rows: 4, columns: 5, channels: 1).problem(small),
            "image is 2x2 (width x height), the model takes 5x4; pass --fit resize or --fit pad")
    }

    /// Grey to RGB and RGB to grey happen only when asked for; alpha is composited over black.
    func testChannelConversionsAreAskedFor() {
        let grey = ImageLayout(rows: 1, columns: 2, channels: 1)
        let rgb = ImageLayout(rows: 1, columns: 2, channels: 3)
        XCTAssertEqual(
            FrameFitting(rows: 1, columns: 2, channels: 3).problem(grey),
            "a grey image for a model of 3 channels: pass --color rgb to repeat grey in R, G and B")
        XCTAssertEqual(
            FrameFitting(rows: 1, columns: 2, channels: 1).problem(rgb),
            "an RGB image for a 1-channel model: pass --color grey to convert it by luminance")
        XCTAssertEqual(
            FrameFitting(rows: 1, columns: 2, channels: 3).problem(ImageLayout(rows: 1, columns: 2, channels: 2)),
            "a 2-channel image (2 colour channels) cannot feed a model of 3 channels")
        // Samples scale as the engine scales them: v x (1 / 255).
        let scale: Float = 1 / 255
        XCTAssertEqual(
            frame(FrameFitting(rows: 1, columns: 2, channels: 3, color: .rgb), [51, 255], grey),
            [51 * scale, 51 * scale, 51 * scale, 255 * scale, 255 * scale, 255 * scale])
        let luma = frame(FrameFitting(rows: 1, columns: 2, channels: 1, color: .grey), [255, 0, 0, 0, 0, 255], rgb)
        XCTAssertEqual(
            luma, [Float(PixelConversion.luma(255, 0, 0)) * scale, Float(PixelConversion.luma(0, 0, 255)) * scale])
        let rgba = ImageLayout(rows: 1, columns: 1, channels: 4, alpha: true)
        XCTAssertEqual(
            frame(FrameFitting(rows: 1, columns: 1, channels: 3), [255, 255, 255, 51], rgba),
            [51 * scale, 51 * scale, 51 * scale])
        XCTAssertEqual(
            FrameFitting(rows: 1, columns: 1, channels: 3, color: .grey).colorProblem,
            "--color grey makes 1-channel frames, the model takes 3 channels")
    }

    /// Classes sorted as Python sorts strings (upper case first), files in the order of
    /// torchvision's walk (folder paths sorted, then names), other files left out.
    func testImageFolderFollowsTorchvision() throws {
        let root = try temporaryDirectory(for: self, prefix: "stn-data-tests")
        for path in ["b/1.png", "a/z.PNG", "a/0.pgm", "a/x/1.png", "a-b/q.png", "B/k.pgm"] {
            try write(pgm(width: 2, height: 2, value: 9), to: root + "/" + path)
        }
        try write(Array("notes".utf8), to: root + "/a/readme.txt")
        let listing = try ImageFolder.list(root)
        XCTAssertEqual(listing.classNames, ["B", "a", "a-b", "b"])
        XCTAssertEqual(
            listing.images.entries.map { String($0.path.dropFirst(root.count + 1)) + ":\($0.label)" },
            ["B/k.pgm:0", "a/0.pgm:1", "a/z.PNG:1", "a/x/1.png:1", "a-b/q.png:2", "b/1.png:3"])
        XCTAssertEqual(listing.ignoredCount, 1)
        // A class of --classes names an index; a folder outside them, or a class without a folder, is refused.
        let known = try ImageFolder.list(root, known: ["b", "a-b", "a", "B"], knownSource: "c.txt")
        XCTAssertEqual(known.images.entries.map(\.label), [3, 2, 2, 2, 1, 0])
        XCTAssertThrowsError(try ImageFolder.list(root, known: ["a", "b", "B"], knownSource: "c.txt")) {
            XCTAssertEqual("\($0)", "\(root)/a-b: folder 'a-b' is not one of the classes of c.txt")
        }
        XCTAssertThrowsError(try ImageFolder.list(root, known: ["a", "b", "B", "a-b", "c"], knownSource: "c.txt")) {
            XCTAssertEqual("\($0)", "\(root): has no folder for class 'c' of c.txt")
        }
    }

    func testCSVLabelsAreIndicesOrNames() throws {
        let root = try temporaryDirectory(for: self, prefix: "stn-data-tests")
        try write(
            Array("path,label\n\"x,1.png\",dog\r\n\n/abs/y.png , cat\nsub/z.pgm,dog\n".utf8), to: root + "/list.csv")
        let named = try LabelCSV.read(root + "/list.csv")
        XCTAssertEqual(named.classNames, ["cat", "dog"])
        XCTAssertEqual(
            named.images.entries,
            [
                .init(path: root + "/x,1.png", label: 1), .init(path: "/abs/y.png", label: 0),
                .init(path: root + "/sub/z.pgm", label: 1),
            ])
        try write(Array("a.png,2\nb.png,0\n".utf8), to: root + "/indices.csv")
        let numbered = try LabelCSV.read(root + "/indices.csv")
        XCTAssertNil(numbered.classNames)
        XCTAssertEqual(numbered.images.entries.map(\.label), [2, 0])
        // With names known, a label is a name or an index into them.
        let known = try LabelCSV.read(root + "/indices.csv", known: ["p", "q", "r"])
        XCTAssertEqual(known.images.entries.map(\.label), [2, 0])
        XCTAssertThrowsError(try LabelCSV.read(root + "/indices.csv", known: ["p", "q"], knownSource: "c.txt")) {
            XCTAssertEqual("\($0)", "\(root)/indices.csv: line 1: label 2 is not a class of c.txt (0-1)")
        }
        try write(Array("a.png\n".utf8), to: root + "/bad.csv")
        XCTAssertThrowsError(try LabelCSV.read(root + "/bad.csv")) {
            XCTAssertEqual(
                "\($0)", "\(root)/bad.csv: line 1: 1 fields, expected 2 (path,label; quote a path with a comma)")
        }
    }

    /// A raw IDX file is mapped, a gzip one inflated: the same images either way.
    func testIDXPairsAreMappedWhenRaw() throws {
        let root = try temporaryDirectory(for: self, prefix: "stn-data-tests")
        let pixels = (0 ..< 5 * 3 * 2 * 3).map { UInt8($0 % 251) }
        try IDX.write([5, 3, 2, 3], pixels, to: root + "/train-images-idx4-ubyte", gzip: false)
        try IDX.write([5, 3, 2, 3], pixels, to: root + "/t10k-images-idx4-ubyte.gz", gzip: true)
        try IDX.writeLabels([0, 1, 2, 1, 0], to: root + "/train-labels-idx1-ubyte")
        try IDX.writeLabels([0, 1, 2, 1, 0], to: root + "/t10k-labels-idx1-ubyte.gz", gzip: true)
        let mapped = try DataLocation.open(root, training: true).images as! IDXImageSet
        let inflated = try DataLocation.open(root, training: false).images as! IDXImageSet
        XCTAssertTrue(mapped.isMapped)
        XCTAssertFalse(inflated.isMapped)
        XCTAssertEqual(mapped.layout, ImageLayout(rows: 3, columns: 2, channels: 3))
        let a = ImageScratch()
        let b = ImageScratch()
        for i in 0 ..< 5 {
            _ = try mapped.read(i, epoch: 0, into: a)
            _ = try inflated.read(i, epoch: 0, into: b)
            XCTAssertEqual(Array(a.samples.prefix(18)), Array(pixels[i * 18 ..< (i + 1) * 18]))
            XCTAssertEqual(Array(b.samples.prefix(18)), Array(pixels[i * 18 ..< (i + 1) * 18]))
        }
        // A raw file cut short is refused by its size, before any image is read.
        try write(
            Array(try Data(contentsOf: URL(fileURLWithPath: root + "/train-images-idx4-ubyte")).dropLast(1)),
            to: root + "/cut")
        XCTAssertThrowsError(try IDXImageSet(images: root + "/cut", labels: root + "/train-labels-idx1-ubyte")) {
            XCTAssertEqual("\($0)", "\(root)/cut: truncated: header declares 90 data bytes but only 89 follow")
        }
    }

    /// The split is the same in every run, disjoint, and holds round(fraction x count) out.
    func testValidationSplitIsFixedAndDisjoint() {
        let set = IDXImageSet(
            IDXImages(count: 10, rows: 1, columns: 1, pixels: Array(0 ..< 10)), labels: Array(0 ..< 10), name: "s")
        let (train, validation) = DataSplit.split(set, validationFraction: 0.25)
        XCTAssertEqual(validation?.count, 3)
        XCTAssertEqual(train.count, 7)
        XCTAssertEqual(Set(train.indices + validation!.indices), Set(0 ..< 10))
        XCTAssertEqual(DataSplit.split(set, validationFraction: 0.25).validation?.indices, validation?.indices)
        XCTAssertNotEqual(train.indices, train.indices.sorted())
    }

    /// A batch of image files is decoded on the loader's threads: the same frames for any
    /// thread count, and a file that fails names itself.
    func testBatchesAreTheSameForAnyThreadCount() throws {
        let root = try temporaryDirectory(for: self, prefix: "stn-data-tests")
        for i in 0 ..< 7 {
            try write(pgm(width: 3, height: 2, value: UInt8(i * 30)), to: root + "/c\(i % 2)/\(i).pgm")
        }
        let set = try ImageFolder.list(root).images
        let fitting = FrameFitting(rows: 4, columns: 4, channels: 1, fit: .resize)
        var batches: [[Float]] = []
        for threads in [1, 3] {
            var images = [Float](repeating: 0, count: 7 * 16)
            var labels = [UInt8](repeating: 9, count: 7)
            try images.withUnsafeMutableBufferPointer { images in
                try labels.withUnsafeMutableBufferPointer { labels in
                    try BatchLoader(fitting: fitting, threads: threads).load(
                        set, indices: [6, 0, 5, 1, 4, 2, 3][...], epoch: 0, images: images.baseAddress!,
                        labels: labels.baseAddress!)
                }
            }
            XCTAssertEqual(labels, [6, 0, 5, 1, 4, 2, 3].map { set.label($0) })
            batches.append(images)
        }
        XCTAssertEqual(batches[0], batches[1])
        try write(Array("P5\n3 2\n255\n".utf8), to: set.entries[4].path)
        var images = [Float](repeating: 0, count: 7 * 16)
        var labels = [UInt8](repeating: 0, count: 7)
        XCTAssertThrowsError(
            try images.withUnsafeMutableBufferPointer { images in
                try labels.withUnsafeMutableBufferPointer { labels in
                    try BatchLoader(fitting: fitting, threads: 2).load(
                        set, indices: [0, 1, 2, 3, 4, 5][...], epoch: 0, images: images.baseAddress!,
                        labels: labels.baseAddress!)
                }
            }
        ) { XCTAssertTrue("\($0)".hasPrefix(set.entries[4].path + ": "), "\($0)") }
    }

    /// --augment's jitter runs on the loader's threads: each frame is the plain frame jittered
    /// by image index and epoch (what the trainer did on its own thread before), for any
    /// thread count; without `augment` (test batches) the frames are plain.
    func testAugmentedBatchesAreTheJitteredFramesForAnyThreadCount() throws {
        let count = 9
        let pixels = (0 ..< count * 6 * 5 * 2).map { (i: Int) -> UInt8 in UInt8(i * 29 % 256) }
        let set = IDXImageSet(
            IDXImages(count: count, rows: 6, columns: 5, channels: 2, pixels: pixels),
            labels: (0 ..< count).map { UInt8($0 % 3) }, name: "memory")
        let fitting = FrameFitting(rows: 8, columns: 7, channels: 2, fit: .resize)
        let augmentation = try Augmentation(parsing: "rotate=20,scale=0.8-1.2,shift=0.1,projective=0.1,elastic=9")
        let indices = [4, 0, 8, 2, 7, 1, 3, 6, 5]
        let frame = fitting.frameCount
        func load(threads: Int, augment: Bool) throws -> [Float] {
            var images = [Float](repeating: 0, count: count * frame)
            var labels = [UInt8](repeating: 0, count: count)
            try images.withUnsafeMutableBufferPointer { images in
                try labels.withUnsafeMutableBufferPointer { labels in
                    try BatchLoader(fitting: fitting, threads: threads, augmentation: augmentation, seed: 5).load(
                        set, indices: indices[...], epoch: 3, images: images.baseAddress!,
                        labels: labels.baseAddress!, augment: augment)
                }
            }
            return images
        }
        var expected = try load(threads: 1, augment: false)
        let workspace = DistortionWorkspace(count: augmentation.workspaceCount(width: 7, height: 8))
        var copy = [Float](repeating: 0, count: frame)
        expected.withUnsafeMutableBufferPointer { images in
            copy.withUnsafeMutableBufferPointer { copy in
                for (j, index) in indices.enumerated() {
                    augmentation.apply(
                        inPlace: images.baseAddress! + j * frame, copy: copy.baseAddress!, width: 7, height: 8,
                        channels: 2, interleaved: true, seed: 5, index: index, epoch: 3, workspace: workspace)
                }
            }
        }
        XCTAssertNotEqual(expected, try load(threads: 1, augment: false))
        for threads in [1, 2, 4] { XCTAssertEqual(try load(threads: threads, augment: true), expected) }
    }
}
