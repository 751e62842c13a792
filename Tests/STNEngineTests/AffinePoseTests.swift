import STNData
import STNKernelInterface
import STNKernelSelection
import STNModel
import XCTest

/// AffinePose's sign and scale conventions against the RTS distortion itself: the pose of
/// an RTS draw, turned into a theta and run through the grid generator and sampler, must
/// show the digit upright and at its original size.
final class AffinePoseTests: XCTestCase {
    /// An asymmetric 28x28 glyph (an "F" with thick strokes): any leftover rotation shows.
    private func glyph() -> [UInt8] {
        var g = [UInt8](repeating: 0, count: 28 * 28)
        func fill(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int) {
            for y in y0 ..< y1 { for x in x0 ..< x1 { g[y * 28 + x] = 255 } }
        }
        fill(8, 4, 12, 24)  // stem
        fill(12, 4, 21, 8)  // top bar
        fill(12, 12, 18, 15)  // middle bar
        return g
    }

    /// The glyph distorted by RTS and pasted at the canvas centre (offset 7: the rotation
    /// centre lands on the frame's centre, so the pose needs no translation).
    private func rendered(angle: Double, scale: Double) -> [Float] {
        var canvas = [UInt8](repeating: 0, count: 42 * 42)
        glyph().withUnsafeBufferPointer { digit in
            canvas.withUnsafeMutableBufferPointer { out in
                RTSDistortion.render(
                    digit: digit.baseAddress!, RTSParameters(angleDegrees: angle, scale: scale, offsetX: 7, offsetY: 7),
                    into: out.baseAddress!)
            }
        }
        return canvas.map { Float($0) / 255 }
    }

    private func sampled(_ image: [Float], theta: [Float]) -> [Float] {
        var grid = [Float](repeating: 0, count: 42 * 42 * 2)
        var output = [Float](repeating: 0, count: 42 * 42)
        let kernels = KernelTable.active
        kernels.transformGridForward(
            TransformGrid(kind: .affine, height: 42, width: 42, alignCorners: false), theta, &grid)
        kernels.sample(image, 42, 42, 1, grid, 42 * 42, SamplerOptions(), &output)
        return output
    }

    private func correlation(_ a: [Float], _ b: [Float]) -> Double {
        let n = Double(a.count)
        let ma = a.reduce(0.0) { $0 + Double($1) } / n
        let mb = b.reduce(0.0) { $0 + Double($1) } / n
        var ab = 0.0
        var aa = 0.0
        var bb = 0.0
        for (x, y) in zip(a, b) {
            ab += (Double(x) - ma) * (Double(y) - mb)
            aa += (Double(x) - ma) * (Double(x) - ma)
            bb += (Double(y) - mb) * (Double(y) - mb)
        }
        return ab / (aa * bb).squareRoot()
    }

    func testThetaOfAnRTSPoseUndoesTheDistortion() {
        let upright = rendered(angle: 0, scale: 1)
        for (angle, scale) in [(30.0, 1.0), (-40.0, 0.8), (20.0, 1.15)] {
            let distorted = rendered(angle: angle, scale: scale)
            let undone = sampled(distorted, theta: AffinePose(rotationDegrees: angle, scale: scale).theta)
            let wrongSign = sampled(distorted, theta: AffinePose(rotationDegrees: -angle, scale: scale).theta)
            let wrongScale = sampled(distorted, theta: AffinePose(rotationDegrees: angle, scale: 1 / scale).theta)
            XCTAssertGreaterThan(correlation(undone, upright), 0.85, "angle \(angle), scale \(scale)")
            XCTAssertLessThan(correlation(wrongSign, upright), correlation(undone, upright) - 0.2, "angle \(angle)")
            XCTAssertLessThan(correlation(distorted, upright), correlation(undone, upright) - 0.2, "angle \(angle)")
            if scale != 1 {
                XCTAssertLessThan(
                    correlation(wrongScale, upright), correlation(undone, upright) - 0.1, "scale \(scale)")
            }
        }
    }

    func testPoseReadsRotationAndScaleThroughShearAndRoundTrips() {
        let pose = AffinePose(rotationDegrees: 25, scale: 0.8, translationX: 0.1, translationY: -0.2)
        let back = AffinePose(theta: pose.theta)
        XCTAssertEqual(back.rotationDegrees, 25, accuracy: 1e-4)
        XCTAssertEqual(back.scale, 0.8, accuracy: 1e-6)
        XCTAssertEqual(back.translationX, 0.1, accuracy: 1e-6)
        XCTAssertEqual(back.translationY, -0.2, accuracy: 1e-6)

        // Rotation times an anisotropic stretch: the polar decomposition's rotation is still
        // 25 degrees and the scale is the geometric mean of the stretches.
        let r = 25.0 * Double.pi / 180
        let (sx, sy) = (1.2, 0.7)
        let stretched: [Float] = [cos(r) * sx, -sin(r) * sy, 0, sin(r) * sx, cos(r) * sy, 0].map { Float($0) }
        let read = AffinePose(theta: stretched)
        XCTAssertEqual(read.rotationDegrees, 25, accuracy: 1e-4)
        XCTAssertEqual(read.scale, (sx * sy).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(AffinePose(theta: [1, 0, 0, 0, 1, 0]), AffinePose(rotationDegrees: 0, scale: 1))
    }
}
