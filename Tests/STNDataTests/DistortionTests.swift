import Foundation
import STNTestSupport
import XCTest

@testable import STNData

/// R, P and E (and RTS through the shared protocol): determinism, identities, geometry and
/// pixel statistics.
final class DistortionTests: XCTestCase {
    // XCTest runs these tests one at a time: the cache is never touched concurrently.
    nonisolated(unsafe) static var digits: MNISTSplit?

    func testDigits() throws -> MNISTSplit {
        if let d = Self.digits { return d }
        Self.digits = try MNIST.load(split: .test, directory: try FixturePaths.mnistDirectory())
        return Self.digits!
    }

    /// R, P and E with their default settings.
    let newVariants: [any DigitDistortion] = [
        RotationDistortion(seed: 1), ProjectiveDistortion(seed: 1), ElasticDistortion(seed: 1),
    ]

    /// The ink of one image: the sum of its pixels.
    func ink(_ pixels: ArraySlice<UInt8>) -> Int { pixels.reduce(0) { $0 + Int($1) } }

    /// Runs `body` with the pointer to a copy of `digit` and a zero 28x28 canvas, returns the canvas.
    func rendered(_ digit: ArraySlice<UInt8>, _ body: (UnsafePointer<UInt8>, UnsafeMutablePointer<UInt8>) -> Void)
        -> [UInt8]
    {
        let digit = Array(digit)
        var canvas = [UInt8](repeating: 0, count: 28 * 28)
        digit.withUnsafeBufferPointer { d in
            canvas.withUnsafeMutableBufferPointer { body(d.baseAddress!, $0.baseAddress!) }
        }
        return canvas
    }

    // MARK: every variant

    func testNamesAndCanvases() {
        XCTAssertEqual(DigitDistortions.names, ["r", "rts", "p", "e"])
        for name in DigitDistortions.names {
            let distortion = DigitDistortions.named(name, seed: 1)
            XCTAssertEqual(distortion?.name, name)
            XCTAssertEqual(distortion?.canvasSide, name == "rts" ? 42 : 28)
        }
        XCTAssertNil(DigitDistortions.named("x", seed: 1))
        XCTAssertEqual(ElasticDistortion(seed: 1).radius, 12)
        XCTAssertEqual(ElasticDistortion(seed: 1).kernel.reduce(0, +), 1, accuracy: 1e-12)
    }

    func testSameSeedGivesSameBytesDifferentSeedOrEpochDifferentBytes() throws {
        let digits = try testDigits().images.prefix(300)
        for name in ["r", "p", "e"] {
            let a = DigitDistortions.named(name, seed: 1)!.distort(digits, epoch: 0, threads: 1)
            XCTAssertEqual(a, DigitDistortions.named(name, seed: 1)!.distort(digits, epoch: 0, threads: 1), name)
            XCTAssertNotEqual(a, DigitDistortions.named(name, seed: 2)!.distort(digits, epoch: 0, threads: 1), name)
            XCTAssertNotEqual(a, DigitDistortions.named(name, seed: 1)!.distort(digits, epoch: 1, threads: 1), name)
            XCTAssertEqual(a.count, 300)
            XCTAssertEqual(a.rows, 28)
            XCTAssertEqual(a.columns, 28)
            // Every image is distorted: none comes out as the digit itself, except rotations
            // too small to move a nearest-neighbour pixel (about 1 in 50 turns by under 2 degrees).
            let unchanged = (0 ..< 300).filter { a.image($0) == digits.image($0) }.count
            XCTAssertLessThan(unchanged, name == "r" ? 15 : 3, name)
        }
    }

    func testThreadCountDoesNotChangeTheBytes() throws {
        let digits = try testDigits().images.prefix(301)
        for name in DigitDistortions.names {
            let distortion = DigitDistortions.named(name, seed: 9)!
            XCTAssertEqual(
                distortion.distort(digits, epoch: 3, threads: 1), distortion.distort(digits, epoch: 3, threads: 3),
                name)
        }
    }

    /// What a training loop does: one workspace, images rendered one at a time in any order.
    func testRenderOneAtATimeInAnyOrderMatchesDistort() throws {
        let digits = try testDigits().images.prefix(200)
        for name in DigitDistortions.names {
            let distortion = DigitDistortions.named(name, seed: 5)!
            let expected = distortion.distort(digits, epoch: 2, threads: 2)
            let side = distortion.canvasSide
            let workspace = distortion.makeWorkspace()
            var canvas = [UInt8](repeating: 0xAB, count: side * side)
            digits.pixels.withUnsafeBufferPointer { source in
                for i in (0 ..< digits.count).reversed() {
                    canvas.withUnsafeMutableBufferPointer {
                        distortion.render(
                            digit: source.baseAddress! + i * 784, index: i, epoch: 2, into: $0.baseAddress!,
                            workspace: workspace)
                    }
                    XCTAssertEqual(canvas[...], expected.image(i), "\(name) image \(i)")
                }
            }
        }
    }

    /// RTS through the protocol gives RTS's own bytes (which its tests pin to torchvision).
    func testRTSThroughTheProtocolKeepsItsBytes() throws {
        let digits = try testDigits().images.prefix(200)
        let rts = RTSDistortion(seed: 1)
        let direct = rts.distort(digits)
        let viaProtocol: any DigitDistortion = rts
        XCTAssertEqual(viaProtocol.distort(digits, epoch: 0, threads: 2), direct)
        XCTAssertEqual(rts.workspaceCount, 0)
    }

    // MARK: R

    func testRotationAnglesCoverTheirRange() {
        let rotation = RotationDistortion(seed: 1)
        let angles = (0 ..< 10_000).map { rotation.angleDegrees(index: $0) }
        XCTAssertGreaterThanOrEqual(angles.min()!, -90)
        XCTAssertLessThan(angles.max()!, 90)
        XCTAssertLessThan(angles.min()!, -89.9)
        XCTAssertGreaterThan(angles.max()!, 89.9)
        // Uniform: mean near 0 (sd of the mean ~0.52 degrees).
        XCTAssertEqual(angles.reduce(0, +) / 10_000, 0, accuracy: 2)
        // Independent of RTS's draws with the same seed.
        XCTAssertNotEqual(angles[0] / 2, RTSDistortion(seed: 1).parameters(index: 0).angleDegrees, accuracy: 1e-9)
    }

    func testRotationByZeroCopiesTheDigit() throws {
        let digits = try testDigits().images
        for i in 0 ..< 20 {
            let out = rendered(digits.image(i)) { RotationDistortion.render(digit: $0, angleDegrees: 0, into: $1) }
            XCTAssertEqual(out[...], digits.image(i))
        }
    }

    /// A quarter turn counter-clockwise is an exact permutation: out(x, y) = digit(27 - y, x).
    func testRotationByNinetyDegreesPermutesPixels() throws {
        let digit = try testDigits().images.image(3)
        let out = rendered(digit) { RotationDistortion.render(digit: $0, angleDegrees: 90, into: $1) }
        let base = digit.startIndex
        for y in 0 ..< 28 {
            for x in 0 ..< 28 {
                XCTAssertEqual(out[y * 28 + x], digit[base + (27 - x) * 28 + y], "(\(x), \(y))")
            }
        }
    }

    /// R is RTS's rotation at scale 1, byte for byte, without the paste.
    func testRotationIsTheRTSRotationAtUnitScale() throws {
        let digits = try testDigits().images
        var canvas = [UInt8](repeating: 0, count: 42 * 42)
        for i in 0 ..< 100 {
            let angle = -90 + 1.8 * Double(i) + 0.37
            let ours = rendered(digits.image(i)) { RotationDistortion.render(digit: $0, angleDegrees: angle, into: $1) }
            let digit = Array(digits.image(i))
            digit.withUnsafeBufferPointer { d in
                canvas.withUnsafeMutableBufferPointer {
                    RTSDistortion.render(
                        digit: d.baseAddress!, RTSParameters(angleDegrees: angle, scale: 1, offsetX: 0, offsetY: 0),
                        into: $0.baseAddress!)
                }
            }
            XCTAssertEqual(ours, (0 ..< 28).flatMap { y in canvas[y * 42 ..< y * 42 + 28] }, "angle \(angle)")
        }
    }

    func testRotationKeepsTheInk() throws {
        let digits = try testDigits().images.prefix(2000)
        let images = RotationDistortion(seed: 1).distort(digits, threads: 2)
        let ratios = (0 ..< images.count).map { Double(ink(images.image($0))) / Double(ink(digits.image($0))) }
        // Nearest neighbour moves pixels without blending; corners turned out of the canvas
        // are cut, but MNIST's ink lies in the central 20x20 box.
        XCTAssertEqual(ratios.reduce(0, +) / Double(ratios.count), 1, accuracy: 0.02)
        XCTAssertGreaterThan(ratios.min()!, 0.8)
    }

    // MARK: P

    func testProjectiveIdentityCopiesTheDigit() throws {
        let digits = try testDigits().images.prefix(100)
        for i in 0 ..< 20 {
            let out = rendered(digits.image(i)) { ProjectiveDistortion.render(digit: $0, .identity, into: $1) }
            XCTAssertEqual(out[...], digits.image(i))
        }
        // Zero noise at scale 1 draws the identity.
        let still = ProjectiveDistortion(seed: 3, scaleRange: 1 ... 1, cornerNoise: 0)
        XCTAssertEqual(still.parameters(index: 7), .identity)
        XCTAssertEqual(still.distort(digits, threads: 2), digits)
    }

    /// The solved homographies take the canvas's corners to the drawn corners and back.
    func testHomographyMapsTheCornersWhereIntended() {
        let projective = ProjectiveDistortion(seed: 1)
        let square = ProjectiveParameters.squareCorners
        for i in 0 ..< 500 {
            let p = projective.parameters(index: i, epoch: 4)
            guard let inverse = p.inverse, let forward = p.forward else {
                XCTFail("image \(i): no homography for \(p.corners)")
                continue
            }
            for c in 0 ..< 4 {
                let shown = inverse.apply(x: square[2 * c], y: square[2 * c + 1])
                XCTAssertEqual(shown.x, p.corners[2 * c], accuracy: 1e-9)
                XCTAssertEqual(shown.y, p.corners[2 * c + 1], accuracy: 1e-9)
                let drawn = forward.apply(x: p.corners[2 * c], y: p.corners[2 * c + 1])
                XCTAssertEqual(drawn.x, square[2 * c], accuracy: 1e-9)
                XCTAssertEqual(drawn.y, square[2 * c + 1], accuracy: 1e-9)
            }
            // Forward undoes inverse inside the canvas too.
            let point = inverse.apply(x: 9.5, y: 20.25)
            let there = forward.apply(x: point.x, y: point.y)
            XCTAssertEqual(there.x, 9.5, accuracy: 1e-9)
            XCTAssertEqual(there.y, 20.25, accuracy: 1e-9)
        }
        // A known homography is recovered from its images of four points.
        let known = Homography(coefficients: [0.9, 0.2, 3, -0.1, 1.1, -2, 0.004, -0.003])
        var to = SIMD8<Double>()
        for c in 0 ..< 4 {
            let q = known.apply(x: square[2 * c], y: square[2 * c + 1])
            to[2 * c] = q.x
            to[2 * c + 1] = q.y
        }
        let solved = Homography.mapping(square, to: to)!
        for k in 0 ..< 8 { XCTAssertEqual(solved.coefficients[k], known.coefficients[k], accuracy: 1e-12) }
        // Three points on a line fix no homography.
        XCTAssertNil(Homography.mapping(square, to: [0, 0, 10, 10, 20, 20, 0, 28]))
    }

    func testProjectiveDrawsFollowTheirDistributions() {
        let projective = ProjectiveDistortion(seed: 1)
        var scales: [Double] = []
        var offsets: [Double] = []
        for i in 0 ..< 10_000 {
            let p = projective.parameters(index: i)
            XCTAssertTrue(ProjectiveDistortion.isConvex(p.corners))
            scales.append(p.scale)
            let unmoved = 14 + (ProjectiveParameters.squareCorners - 14) / p.scale
            for k in 0 ..< 8 { offsets.append(p.corners[k] - unmoved[k]) }
        }
        XCTAssertGreaterThanOrEqual(scales.min()!, 0.75)
        XCTAssertLessThan(scales.max()!, 1)
        XCTAssertLessThan(scales.min()!, 0.751)
        XCTAssertGreaterThan(scales.max()!, 0.999)
        let mean = offsets.reduce(0, +) / Double(offsets.count)
        let deviation = (offsets.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(offsets.count)).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 0.1)
        // Normal with sd 5 (redrawing the rare non-convex draws trims it by well under 1 %).
        XCTAssertEqual(deviation, 5, accuracy: 0.1)
        let beyondTwo = offsets.filter { abs($0) > 10 }.count
        XCTAssertEqual(Double(beyondTwo) / Double(offsets.count), 0.0455, accuracy: 0.005)
    }

    /// Without noise, scale s shrinks the digit about the centre: its ink by about s^2 and its
    /// ink centroid's distance from (14, 14) by s.
    func testProjectiveScaleShrinksTheDigitAboutItsCentre() throws {
        let digits = try testDigits().images.prefix(500)
        let s = 0.8
        let images = ProjectiveDistortion(seed: 1, scaleRange: s ... s, cornerNoise: 0).distort(digits, threads: 2)
        func centroid(_ image: ArraySlice<UInt8>) -> SIMD2<Double> {
            var sum = SIMD2<Double>()
            for (k, v) in image.enumerated() { sum += Double(v) * SIMD2(Double(k % 28) + 0.5, Double(k / 28) + 0.5) }
            return sum / Double(ink(image))
        }
        var ratio = 0.0
        var errors: [Double] = []
        for i in 0 ..< images.count {
            ratio += Double(ink(images.image(i))) / Double(ink(digits.image(i)))
            let before = centroid(digits.image(i)) - 14
            let after = centroid(images.image(i)) - 14
            errors += [after.x - s * before.x, after.y - s * before.y]
        }
        // Bilinear sampling without a prefilter aliases thin strokes a little (a tenth of a
        // pixel), without bias.
        let meanError = errors.reduce(0, +) / Double(errors.count)
        let rmsError = (errors.reduce(0) { $0 + $1 * $1 } / Double(errors.count)).squareRoot()
        XCTAssertEqual(meanError, 0, accuracy: 0.01)
        XCTAssertLessThan(rmsError, 0.1)
        XCTAssertLessThan(errors.map(abs).max()!, 0.4)
        XCTAssertEqual(ratio / Double(images.count), s * s, accuracy: 0.02)
    }

    func testProjectiveKeepsMostOfTheInk() throws {
        let digits = try testDigits().images.prefix(2000)
        let images = ProjectiveDistortion(seed: 1).distort(digits, threads: 2)
        let ratios = (0 ..< images.count).map { Double(ink(images.image($0))) / Double(ink(digits.image($0))) }
        // The scale alone keeps E[s^2] = 0.77 of the ink; the corner offsets spread it.
        XCTAssertEqual(ratios.reduce(0, +) / Double(ratios.count), 0.77, accuracy: 0.05)
        // The digit is never lost: at most 1 in 1000 keeps under a tenth of its ink.
        XCTAssertLessThanOrEqual(ratios.filter { $0 < 0.1 }.count, 2)
    }

    // MARK: E

    func testElasticWithZeroAlphaCopiesTheDigit() throws {
        let digits = try testDigits().images.prefix(100)
        XCTAssertEqual(ElasticDistortion(seed: 1, alpha: 0).distort(digits, threads: 2), digits)
        // Zero fields through the static renderer too.
        let zero = [Double](repeating: 0, count: 784)
        let out = rendered(digits.image(4)) { ElasticDistortion.render(digit: $0, dx: zero, dy: zero, into: $1) }
        XCTAssertEqual(out[...], digits.image(4))
    }

    /// The displacements are zero-mean with the standard deviation the kernel implies
    /// (1.38 pixels at alpha 34, sigma 4), and smooth: neighbours move nearly together.
    func testElasticDisplacementsHaveTheirDeviationAndAreSmooth() {
        let elastic = ElasticDistortion(seed: 1)
        XCTAssertEqual(elastic.displacementDeviation, 1.384, accuracy: 0.01)
        let workspace = elastic.makeWorkspace()
        var dx = [Double](repeating: 0, count: 784)
        var dy = [Double](repeating: 0, count: 784)
        var sum = 0.0
        var squares = 0.0
        var neighbourSquares = 0.0
        let images = 400
        for i in 0 ..< images {
            dx.withUnsafeMutableBufferPointer { dx in
                dy.withUnsafeMutableBufferPointer { dy in
                    elastic.displacements(
                        index: i, dx: dx.baseAddress!, dy: dy.baseAddress!, workspace: workspace)
                }
            }
            for field in [dx, dy] {
                sum += field.reduce(0, +)
                squares += field.reduce(0) { $0 + $1 * $1 }
                for y in 0 ..< 28 {
                    for x in 0 ..< 27 {
                        let d = field[y * 28 + x + 1] - field[y * 28 + x]
                        neighbourSquares += d * d
                    }
                }
            }
        }
        let n = Double(images * 2 * 784)
        XCTAssertEqual(sum / n, 0, accuracy: 0.1)
        XCTAssertEqual((squares / n).squareRoot(), elastic.displacementDeviation, accuracy: 0.07)
        // Smoothed by sigma 4: a neighbour's displacement differs by a small fraction.
        let neighbourDeviation = (neighbourSquares / Double(images * 2 * 28 * 27)).squareRoot()
        XCTAssertLessThan(neighbourDeviation, 0.25 * elastic.displacementDeviation)
    }

    func testElasticKeepsTheInk() throws {
        let digits = try testDigits().images.prefix(2000)
        let images = ElasticDistortion(seed: 1).distort(digits, threads: 2)
        let ratios = (0 ..< images.count).map { Double(ink(images.image($0))) / Double(ink(digits.image($0))) }
        // Local stretching and squeezing change strokes' widths but not the ink on average.
        XCTAssertEqual(ratios.reduce(0, +) / Double(ratios.count), 1, accuracy: 0.03)
        XCTAssertGreaterThan(ratios.min()!, 0.4)
        XCTAssertLessThan(ratios.max()!, 2)
    }
}
