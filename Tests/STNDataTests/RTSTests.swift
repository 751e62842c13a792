import Foundation
import STNTestSupport
import XCTest

@testable import STNData

final class RTSTests: XCTestCase {
    // XCTest runs these tests one at a time: the cache is never touched concurrently.
    nonisolated(unsafe) static var digits: MNISTSplit?

    func testDigits() throws -> MNISTSplit {
        if let d = Self.digits { return d }
        Self.digits = try MNIST.load(split: .test, directory: try FixturePaths.mnistDirectory())
        return Self.digits!
    }

    func testSameSeedGivesSameBytesDifferentSeedDifferentBytes() throws {
        let digits = try testDigits().images.prefix(500)
        let a = RTSDistortion(seed: 1).distort(digits)
        XCTAssertEqual(a, RTSDistortion(seed: 1).distort(digits))
        XCTAssertNotEqual(a, RTSDistortion(seed: 2).distort(digits))
        XCTAssertNotEqual(a, RTSDistortion(seed: 1).distort(digits, epoch: 1))
        XCTAssertEqual(a.count, 500)
        XCTAssertEqual(a.rows, 42)
    }

    func testThreadCountDoesNotChangeTheResult() throws {
        let digits = try testDigits().images.prefix(300)
        XCTAssertEqual(
            RTSDistortion(seed: 9).distort(digits, threads: 1), RTSDistortion(seed: 9).distort(digits, threads: 3))
    }

    func testParameterDrawsCoverTheirRanges() {
        let rts = RTSDistortion(seed: 1)
        var angles: [Double] = []
        var scales: [Double] = []
        var offsetsX = Set<Int>()
        var offsetsY = Set<Int>()
        for i in 0 ..< 10_000 {
            let p = rts.parameters(index: i)
            angles.append(p.angleDegrees)
            scales.append(p.scale)
            offsetsX.insert(p.offsetX)
            offsetsY.insert(p.offsetY)
        }
        XCTAssertGreaterThanOrEqual(angles.min()!, -45)
        XCTAssertLessThan(angles.max()!, 45)
        XCTAssertLessThan(angles.min()!, -44.9)
        XCTAssertGreaterThan(angles.max()!, 44.9)
        XCTAssertGreaterThanOrEqual(scales.min()!, 0.7)
        XCTAssertLessThan(scales.max()!, 1.2)
        XCTAssertLessThan(scales.min()!, 0.701)
        XCTAssertGreaterThan(scales.max()!, 1.199)
        XCTAssertEqual(offsetsX, Set(0 ... 13))
        XCTAssertEqual(offsetsY, Set(0 ... 13))
        // Uniform: the mean angle is near 0 (sd of the mean ~0.26 degrees).
        XCTAssertEqual(angles.reduce(0, +) / 10_000, 0, accuracy: 1.5)
    }

    func testDigitStaysInsideItsPastedSquare() throws {
        let digits = try testDigits()
        let rts = RTSDistortion(seed: 1)
        let images = rts.distort(digits.images.prefix(2000))
        for i in 0 ..< images.count {
            let p = rts.parameters(index: i)
            let image = Array(images.image(i))
            for y in 0 ..< 42 {
                for x in 0 ..< 42 where image[y * 42 + x] != 0 {
                    XCTAssertTrue(
                        (p.offsetX ..< p.offsetX + 28).contains(x) && (p.offsetY ..< p.offsetY + 28).contains(y),
                        "image \(i): pixel (\(x), \(y)) outside the square at (\(p.offsetX), \(p.offsetY))")
                }
            }
        }
    }

    /// Our rotate-and-scale against torchvision's `F.affine` on PIL images
    /// (tools/fixtures/make_rts_fixture.py): identical pixels for every case.
    func testRotateAndScaleMatchesTorchvisionPixelForPixel() throws {
        let digits = try IDX.readImages(at: FixturePaths.fixture("rts-digits-idx3-ubyte.gz"))
        let expected = try IDX.readImages(at: FixturePaths.fixture("rts-expected-idx3-ubyte.gz"))
        let csv = try String(contentsOfFile: FixturePaths.fixture("rts-cases.csv"), encoding: .utf8)
        let cases = csv.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.hasPrefix("index") }.map {
            $0.split(separator: ",")
        }
        XCTAssertEqual(cases.count, expected.count)
        XCTAssertGreaterThan(cases.count, 50)
        var canvas = [UInt8](repeating: 0, count: 42 * 42)
        var mismatched = 0
        for (i, row) in cases.enumerated() {
            let p = RTSParameters(angleDegrees: Double(row[2])!, scale: Double(row[3])!, offsetX: 0, offsetY: 0)
            let digit = Array(digits.image(i))
            digit.withUnsafeBufferPointer { d in
                canvas.withUnsafeMutableBufferPointer {
                    RTSDistortion.render(digit: d.baseAddress!, p, into: $0.baseAddress!)
                }
            }
            let ours = (0 ..< 28).flatMap { y in canvas[y * 42 ..< y * 42 + 28] }
            let theirs = Array(expected.image(i))
            let differing = zip(ours, theirs).filter { $0 != $1 }.count
            if differing > 0 {
                mismatched += 1
                XCTFail("case \(i) (angle \(row[2]), scale \(row[3])): \(differing) pixels differ")
            }
        }
        XCTAssertEqual(mismatched, 0)
    }

    func testRenderIsIdentityAtZeroAngleUnitScale() throws {
        let digit = Array(try testDigits().images.image(0))
        var canvas = [UInt8](repeating: 0, count: 42 * 42)
        digit.withUnsafeBufferPointer { d in
            canvas.withUnsafeMutableBufferPointer {
                RTSDistortion.render(
                    digit: d.baseAddress!, RTSParameters(angleDegrees: 0, scale: 1, offsetX: 13, offsetY: 2),
                    into: $0.baseAddress!)
            }
        }
        for y in 0 ..< 28 {
            XCTAssertEqual(Array(canvas[(y + 2) * 42 + 13 ..< (y + 2) * 42 + 41]), Array(digit[y * 28 ..< y * 28 + 28]))
        }
    }

    func testPRNGStreamsAreIndependentAndReproducible() {
        var a = PRNG(seed: 1, stream: 0)
        var b = PRNG(seed: 1, stream: 0)
        var c = PRNG(seed: 1, stream: 1)
        let xs = (0 ..< 8).map { _ in a.next() }
        XCTAssertEqual(xs, (0 ..< 8).map { _ in b.next() })
        XCTAssertNotEqual(xs, (0 ..< 8).map { _ in c.next() })
        var u = PRNG(seed: 42)
        let floats = (0 ..< 100_000).map { _ in u.nextUnitFloat() }
        XCTAssertGreaterThanOrEqual(floats.min()!, 0)
        XCTAssertLessThan(floats.max()!, 1)
        XCTAssertEqual(Double(floats.reduce(0, +)) / 100_000, 0.5, accuracy: 0.01)
    }
}
