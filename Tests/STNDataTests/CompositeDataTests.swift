import Foundation
import STNTestSupport
import XCTest

@testable import STNData

/// MNIST addition and cluttered MNIST: the data sets made of several digits.
final class CompositeDataTests: XCTestCase {
    // XCTest runs these tests one at a time: the cache is never touched concurrently.
    nonisolated(unsafe) static var digits: MNISTSplit?

    /// The first 400 t10k digits (enough for partners and clutter to vary).
    func digits() throws -> MNISTSplit {
        if let d = Self.digits { return d }
        var split = try MNIST.load(split: .test, directory: try FixturePaths.mnistDirectory())
        split.images = split.images.prefix(400)
        split.labels = Array(split.labels.prefix(400))
        Self.digits = split
        return split
    }

    // MARK: Addition

    func testAdditionIsDeterministicPerSeedAndEpochAndIndependentOfThreads() throws {
        let split = try digits()
        let a = MNISTAddition(seed: 1).compose(split, count: 120, threads: 1)
        XCTAssertEqual(a.images, MNISTAddition(seed: 1).compose(split, count: 120, threads: 3).images)
        XCTAssertEqual(a.labels, MNISTAddition(seed: 1).compose(split, count: 120, threads: 3).labels)
        XCTAssertNotEqual(a.images, MNISTAddition(seed: 2).compose(split, count: 120).images)
        XCTAssertNotEqual(a.images, MNISTAddition(seed: 1).compose(split, count: 120, epoch: 1).images)
        // Image i does not depend on how many images are made.
        let first = MNISTAddition(seed: 1).compose(split, count: 50)
        XCTAssertEqual(first.images.pixels, Array(a.images.pixels.prefix(50 * 42 * 42 * 2)))
    }

    func testAdditionShapeAndLabelIsTheSumOfTheTwoDigits() throws {
        let split = try digits()
        let addition = MNISTAddition(seed: 1)
        // More images than digits: the first channel's digits repeat with fresh draws.
        let (images, labels) = addition.compose(split, count: 500)
        XCTAssertEqual(images.count, 500)
        XCTAssertEqual(images.rows, 42)
        XCTAssertEqual(images.columns, 42)
        XCTAssertEqual(images.channels, 2)
        XCTAssertEqual(images.pixels.count, 500 * 42 * 42 * 2)
        var sums = Set<UInt8>()
        for i in 0 ..< 500 {
            let p = addition.parameters(index: i, digitCount: 400)
            XCTAssertNotEqual(p.partner, i % 400, "image \(i): the second digit is another digit")
            XCTAssertEqual(labels[i], split.labels[i % 400] + split.labels[p.partner], "image \(i)")
            sums.insert(labels[i])
        }
        XCTAssertEqual(sums, Set(0 ... 18), "every sum appears in 500 images")
        XCTAssertNotEqual(
            Array(images.image(3)), Array(images.image(403)), "a repeated digit gets fresh draws")
    }

    func testEachChannelIsItsOwnDigitWithItsOwnRTSDistortion() throws {
        let split = try digits()
        let addition = MNISTAddition(seed: 7)
        let (images, _) = addition.compose(split, count: 60)
        var differentDraws = 0
        for i in 0 ..< 60 {
            let p = addition.parameters(index: i, digitCount: 400)
            let image = Array(images.image(i))
            let channel0 = stride(from: 0, to: image.count, by: 2).map { image[$0] }
            let channel1 = stride(from: 1, to: image.count, by: 2).map { image[$0] }
            XCTAssertNotEqual(channel0, channel1, "image \(i): the channels differ")
            // Each channel is exactly RTS's rendering of its digit with its own parameters.
            for (digit, parameters, channel) in [(i, p.first, channel0), (p.partner, p.second, channel1)] {
                var expected = [UInt8](repeating: 0, count: 42 * 42)
                Array(split.images.image(digit)).withUnsafeBufferPointer { d in
                    expected.withUnsafeMutableBufferPointer {
                        RTSDistortion.render(digit: d.baseAddress!, parameters, into: $0.baseAddress!)
                    }
                }
                XCTAssertEqual(channel, expected, "image \(i), digit \(digit)")
            }
            if p.first != p.second { differentDraws += 1 }
        }
        XCTAssertEqual(differentDraws, 60, "the two channels draw their distortions independently")
    }

    // MARK: Cluttered

    func testClutteredIsDeterministicPerSeedAndEpochAndIndependentOfThreads() throws {
        let split = try digits()
        let a = ClutteredMNIST(seed: 1).compose(split, count: 100, threads: 1)
        XCTAssertEqual(a.images, ClutteredMNIST(seed: 1).compose(split, count: 100, threads: 4).images)
        XCTAssertNotEqual(a.images, ClutteredMNIST(seed: 2).compose(split, count: 100).images)
        XCTAssertNotEqual(a.images, ClutteredMNIST(seed: 1).compose(split, count: 100, epoch: 3).images)
        XCTAssertEqual(a.labels, Array(split.labels.prefix(100)))
        XCTAssertEqual(a.images.rows, 60)
        XCTAssertEqual(a.images.columns, 60)
        XCTAssertEqual(a.images.channels, 1)
        XCTAssertEqual(a.images.pixels.count, 100 * 60 * 60)
    }

    func testClutterIsPresentAndTheDigitIntact() throws {
        let split = try digits()
        let cluttered = ClutteredMNIST(seed: 3)
        let count = 200
        let (images, _) = cluttered.compose(split, count: count)
        var clutterOutsideDigit = 0
        var untouchedDigitPixels = 0
        for i in 0 ..< count {
            let p = cluttered.parameters(index: i, digitCount: 400)
            XCTAssertEqual(p.pieces.count, 6)
            XCTAssertTrue(p.pieces.allSatisfy { $0.source != i % 400 }, "image \(i): clutter from other digits")
            let image = Array(images.image(i))
            let digit = Array(split.images.image(i % 400))
            // Which canvas pixels some piece covers.
            var covered = [Bool](repeating: false, count: 60 * 60)
            for piece in p.pieces {
                for y in 0 ..< 8 { for x in 0 ..< 8 { covered[(piece.y + y) * 60 + piece.x + x] = true } }
            }
            for y in 0 ..< 60 {
                for x in 0 ..< 60 {
                    let (dx, dy) = (x - p.digitX, y - p.digitY)
                    let inside = (0 ..< 28).contains(dx) && (0 ..< 28).contains(dy)
                    let value = image[y * 60 + x]
                    if inside {
                        let d = digit[dy * 28 + dx]
                        // Never dimmed; exactly the digit where no clutter lies.
                        XCTAssertGreaterThanOrEqual(value, d, "image \(i) at (\(x), \(y))")
                        if !covered[y * 60 + x] {
                            XCTAssertEqual(value, d, "image \(i) at (\(x), \(y))")
                            untouchedDigitPixels += 1
                        }
                    } else {
                        if value != 0 { clutterOutsideDigit += 1 }
                        if !covered[y * 60 + x] { XCTAssertEqual(value, 0, "image \(i) at (\(x), \(y))") }
                    }
                }
            }
        }
        XCTAssertGreaterThan(clutterOutsideDigit, count * 20, "clutter is visible outside the digit")
        XCTAssertGreaterThan(untouchedDigitPixels, count * 400)
    }

    func testClutterSettingsAndPositionsCoverTheirRanges() throws {
        let split = try digits()
        let cluttered = ClutteredMNIST(seed: 1, canvasSize: 40, pieces: 2, pieceSize: 5)
        let (images, _) = cluttered.compose(split, count: 10)
        XCTAssertEqual(images.rows, 40)
        var xs = Set<Int>()
        var pieceXs = Set<Int>()
        var crops = Set<Int>()
        for i in 0 ..< 3000 {
            let p = cluttered.parameters(index: i, digitCount: 400)
            XCTAssertEqual(p.pieces.count, 2)
            xs.insert(p.digitX)
            for piece in p.pieces {
                pieceXs.insert(piece.x)
                crops.insert(piece.sourceY)
            }
        }
        XCTAssertEqual(xs, Set(0 ... 12))
        XCTAssertEqual(pieceXs, Set(0 ... 35))
        XCTAssertEqual(crops, Set(0 ... 23))
        XCTAssertEqual(
            ClutteredMNIST(seed: 1, pieces: 0).compose(split, count: 20).images.pixels.reduce(0) { $0 + Int($1) },
            (0 ..< 20).reduce(0) { total, i in total + split.images.image(i).reduce(0) { $0 + Int($1) } },
            "without clutter only the digits' pixels remain")
    }

    // MARK: IDX

    func testChannelsRoundTripAsFourDimensionalIDX() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-data-tests")
        let images = IDXImages(count: 2, rows: 3, columns: 2, channels: 2, pixels: (0 ..< 24).map { UInt8($0) })
        try IDX.writeImages(images, to: directory + "/a")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/a"))
        XCTAssertEqual(Array(bytes.prefix(4)), [0, 0, 8, 4])
        XCTAssertEqual(try IDX.readFrames(at: directory + "/a"), images)
        XCTAssertThrowsError(try IDX.readImages(at: directory + "/a"), "three dimensions expected")
        let grey = IDXImages(count: 1, rows: 2, columns: 2, pixels: [1, 2, 3, 4])
        try IDX.writeImages(grey, to: directory + "/b")
        XCTAssertEqual(try IDX.readImages(at: directory + "/b"), grey)
    }
}
