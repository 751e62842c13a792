import XCTest

@testable import STNData

/// `--augment`: the text form, identity amounts, determinism per (seed, epoch, index),
/// geometry of a known rotation and shift, multi-channel and float images.
final class AugmentationTests: XCTestCase {
    /// A width x height x channels test image: distinct values everywhere.
    func pattern(width: Int, height: Int, channels: Int) -> [UInt8] {
        (0 ..< width * height * channels).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
    }

    func applied<Pixel: ResamplingPixel>(
        _ augmentation: Augmentation, _ image: [Pixel], width: Int, height: Int, channels: Int,
        interleaved: Bool = true, seed: UInt64 = 1, index: Int = 0, epoch: Int = 0
    ) -> [Pixel] {
        var out = image
        let workspace = DistortionWorkspace(count: augmentation.workspaceCount(width: width, height: height))
        image.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                augmentation.apply(
                    source.baseAddress!, into: target.baseAddress!, width: width, height: height, channels: channels,
                    interleaved: interleaved, seed: seed, index: index, epoch: epoch, workspace: workspace)
            }
        }
        return out
    }

    func testTextFormRoundTripsAndBadTextIsOneLine() throws {
        let a = try Augmentation(parsing: "rotate=15,scale=0.9-1.1,shift=0.1,projective=0.1,elastic=0")
        XCTAssertEqual(a.rotationDegrees, 15)
        XCTAssertEqual(a.scaleRange, 0.9 ... 1.1)
        XCTAssertEqual(a.shiftFraction, 0.1)
        XCTAssertEqual(a.projective, 0.1)
        XCTAssertEqual(a.elasticAlpha, 0)
        XCTAssertEqual(a.description, "rotate=15,scale=0.9-1.1,shift=0.1,projective=0.1,elastic=0,sigma=4")
        XCTAssertEqual(try Augmentation(parsing: a.description), a)
        XCTAssertEqual(try Augmentation(parsing: "scale=1.2").scaleRange, 1.2 ... 1.2)
        XCTAssertEqual(try Augmentation(parsing: "elastic=34,sigma=3").kernel.count, 19)
        XCTAssertTrue(try Augmentation(parsing: "rotate=0,scale=1,shift=0").isIdentity)
        let refused = [
            "rotate=200": "rotate must be a number from 0 to 180, not '200'",
            "spin=3": "unknown key 'spin' (keys: rotate, scale, shift, projective, elastic, sigma)",
            "rotate=1,rotate=2": "'rotate' is given twice",
            "scale=1.1-0.9": "scale=1.1-0.9: the low end is above the high end",
            "scale=0-1": "scale must be a number above 0 to 10, not '0'",
            "shift=nan": "shift must be a number from 0 to 1, not 'nan'",
            "sigma=0": "sigma must be a number above 0 to 64, not '0'",
            "": "'' is not KEY=VALUE (keys: rotate, scale, shift, projective, elastic, sigma)",
        ]
        for (text, message) in refused {
            XCTAssertThrowsError(try Augmentation(parsing: text), text) { XCTAssertEqual("\($0)", message) }
        }
        XCTAssertThrowsError(try Augmentation(parsing: "rotate")) {
            XCTAssertEqual(
                "\($0)", "'rotate' is not KEY=VALUE (keys: rotate, scale, shift, projective, elastic, sigma)")
        }
    }

    /// Zero amounts give the input back exactly, through the sampling path, for bytes and
    /// floats, interleaved and planar.
    func testIdentityAmountsGiveTheInputBack() throws {
        let identity = try Augmentation(parsing: "rotate=0,scale=1-1,shift=0,projective=0,elastic=0")
        for (width, height, channels) in [(28, 28, 1), (7, 5, 3), (1, 1, 4)] {
            let bytes = pattern(width: width, height: height, channels: channels)
            for interleaved in [true, false] {
                XCTAssertEqual(
                    applied(
                        identity, bytes, width: width, height: height, channels: channels, interleaved: interleaved),
                    bytes)
                let floats = bytes.map { Float($0) / 255 }
                XCTAssertEqual(
                    applied(
                        identity, floats, width: width, height: height, channels: channels, interleaved: interleaved),
                    floats)
            }
        }
    }

    /// The same (seed, epoch, index) gives the same pixels, in any order; another seed, epoch
    /// or index gives others.
    func testDrawsAreKeyedBySeedEpochAndIndex() throws {
        let a = try Augmentation(parsing: "rotate=20,scale=0.8-1.2,shift=0.1,projective=0.05,elastic=8,sigma=3")
        let image = pattern(width: 12, height: 10, channels: 3)
        func run(_ seed: UInt64, _ index: Int, _ epoch: Int) -> [UInt8] {
            applied(a, image, width: 12, height: 10, channels: 3, seed: seed, index: index, epoch: epoch)
        }
        let first = run(1, 5, 2)
        _ = run(1, 6, 2)  // another image in between changes nothing
        XCTAssertEqual(run(1, 5, 2), first)
        XCTAssertNotEqual(run(2, 5, 2), first)
        XCTAssertNotEqual(run(1, 4, 2), first)
        XCTAssertNotEqual(run(1, 5, 3), first)
        XCTAssertNotEqual(first, image)
    }

    /// A quarter turn: a positive angle turns the image clockwise on screen (y down), as
    /// the R distortion's 90 degrees do, so the bottom-left pixel lands at the top left and
    /// the top right at the bottom right.
    func testAKnownRotationMovesAKnownPixel() {
        let n = 6
        var image = [UInt8](repeating: 0, count: n * n)
        image[(n - 1) * n + 0] = 200  // bottom left
        image[0 * n + (n - 1)] = 100  // top right
        let map = Augmentation.affine(angleDegrees: 90, scale: 1, shiftX: 0, shiftY: 0, width: n, height: n)
        // The output's top-left pixel centre samples the input's bottom-left one.
        let p = map.apply(x: 0.5, y: 0.5)
        XCTAssertEqual(p.x, 0.5, accuracy: 1e-12)
        XCTAssertEqual(p.y, Double(n) - 0.5, accuracy: 1e-12)
        var rotated = [UInt8](repeating: 0, count: n * n)
        image.withUnsafeBufferPointer { source in
            rotated.withUnsafeMutableBufferPointer { target in
                Self.render(map, source.baseAddress!, target.baseAddress!, n)
            }
        }
        var expected = [UInt8](repeating: 0, count: n * n)
        expected[0] = 200
        expected[n * n - 1] = 100
        XCTAssertEqual(rotated, expected)
        // A shift of 2 pixels right moves it 2 to the right.
        let shifted = Augmentation.affine(angleDegrees: 0, scale: 1, shiftX: 2, shiftY: 0, width: n, height: n)
        XCTAssertEqual(shifted.apply(x: 2.5, y: 0.5), SIMD2(0.5, 0.5))
    }

    /// One bilinear pass of `map` over an n x n grey image (what `apply` does per channel).
    static func render(
        _ map: Homography, _ source: UnsafePointer<UInt8>, _ target: UnsafeMutablePointer<UInt8>, _ n: Int
    ) {
        for y in 0 ..< n {
            for x in 0 ..< n {
                let p = map.apply(x: Double(x) + 0.5, y: Double(y) + 0.5)
                target[y * n + x] = UInt8(
                    sample: BilinearTap(x: p.x, y: p.y, width: n, height: n).sample(source, pixelStride: 1))
            }
        }
    }

    /// Every channel of an interleaved image moves as a grey image of that channel does.
    func testChannelsMoveTogether() throws {
        let a = try Augmentation(parsing: "rotate=30,scale=0.9-1.1,shift=0.1,projective=0.05,elastic=5")
        let (w, h, c) = (9, 11, 3)
        let image = pattern(width: w, height: h, channels: c)
        let colour = applied(a, image, width: w, height: h, channels: c, index: 3)
        for channel in 0 ..< c {
            let plane = (0 ..< w * h).map { image[$0 * c + channel] }
            let grey = applied(a, plane, width: w, height: h, channels: 1, index: 3)
            XCTAssertEqual((0 ..< w * h).map { colour[$0 * c + channel] }, grey, "channel \(channel)")
        }
        // Planar layout gives the same pixels, rearranged.
        let planar = (0 ..< c).flatMap { ch in (0 ..< w * h).map { image[$0 * c + ch] } }
        let planarOut = applied(a, planar, width: w, height: h, channels: c, interleaved: false, index: 3)
        XCTAssertEqual(planarOut, (0 ..< c).flatMap { ch in (0 ..< w * h).map { colour[$0 * c + ch] } })
    }

    /// The field smoothing, widened to any size for the jitter, gives the E distortion's own
    /// 28x28 displacements from the same stream.
    func testWidenedSmoothingKeepsTheElasticField() {
        let e = ElasticDistortion(seed: 3)
        let n = 28
        let workspace = e.makeWorkspace()
        var dx = [Double](repeating: 0, count: n * n)
        var dy = dx
        e.displacements(index: 7, epoch: 1, dx: &dx, dy: &dy, workspace: workspace)
        var random = PRNG.image(seed: 3, salt: ElasticDistortion.salt, index: 7, epoch: 1)
        var field = [Double](repeating: 0, count: n * n)
        e.kernel.withUnsafeBufferPointer { kernel in
            ElasticDistortion.smoothField(
                &random, kernel: kernel, alpha: e.alpha, width: n, height: n, into: &field,
                scratch: workspace.doubles)
        }
        XCTAssertEqual(field, dx)
    }
}
