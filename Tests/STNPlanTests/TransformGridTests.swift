import Foundation
import STNKernelInterface
import STNKernelSelection
import STNLibHDF5
import STNTestSupport
import XCTest

/// The four grid generators against PyTorch (tools/fixtures/transforms.py, torch operations with
/// autograd; Tests/Fixtures/golden-transforms.h5): grids, theta gradients, and the sampler
/// behind them, on a non-square 7 x 9 grid, align_corners 0 and 1.
final class TransformGridTests: XCTestCase {
    static let fixture = FixturePaths.fixture("golden-transforms.h5")
    static let kinds: [(String, TransformGrid.Kind)] = [
        ("affine", .affine), ("attention", .attention), ("projective", .projective), ("tps", .thinPlateSpline),
    ]

    /// max |ours - theirs| / max(1, max |theirs|).
    func error(_ ours: ArraySlice<Float>, _ theirs: ArraySlice<Float>) -> Float {
        var worst: Float = 0
        var scale: Float = 1
        for (a, b) in zip(ours, theirs) {
            worst = max(worst, abs(a - b))
            scale = max(scale, abs(b))
        }
        return worst / scale
    }

    func testGridsAndThetaGradientsMatchPyTorch() throws { try ISA.forEachAvailable { _ in try checkGrids() } }

    func checkGrids() throws {
        let kernels = KernelTable.active
        let file = try HDF5File(path: Self.fixture, mode: .read)
        for (name, kind) in Self.kinds {
            for align in [0, 1] {
                let group = "\(name)/align\(align)/"
                let theta = try file.readFloats(group + "theta").values
                let expected = try file.readFloats(group + "grid").values
                let upstream = try file.readFloats(group + "upstream").values
                let expectedGradient = try file.readFloats(group + "grad_theta").values
                let generator = TransformGrid(kind: kind, height: 7, width: 9, alignCorners: align == 1)
                let p = generator.parameterCount
                var grid = [Float](repeating: 0, count: 7 * 9 * 2)
                var gradient = [Float](repeating: 0, count: p)
                for n in 0 ..< 5 {
                    theta.withUnsafeBufferPointer { t in
                        kernels.transformGridForward(generator, t.baseAddress! + n * p, &grid)
                        upstream.withUnsafeBufferPointer {
                            kernels.transformGridBackward(
                                generator, t.baseAddress! + n * p, $0.baseAddress! + n * 126, &gradient)
                        }
                    }
                    let gridError = error(grid[...], expected[n * 126 ..< (n + 1) * 126])
                    let gradientError = error(gradient[...], expectedGradient[n * p ..< (n + 1) * p])
                    XCTAssertLessThanOrEqual(gridError, 1e-5, "\(group) image \(n) grid [\(ISA.active)]")
                    XCTAssertLessThanOrEqual(gradientError, 1e-4, "\(group) image \(n) gradient [\(ISA.active)]")
                }
            }
        }
    }

    /// Image 4 of the projective cases puts w within 1e-3 of zero (and exactly 0 at
    /// align_corners=1): the guard keeps the divide finite, with PyTorch's sign rule.
    func testProjectiveGuardNearZero() throws {
        let kernels = KernelTable.active
        let file = try HDF5File(path: Self.fixture, mode: .read)
        let generator = TransformGrid(kind: .projective, height: 7, width: 9, alignCorners: true)
        let theta = Array(try file.readFloats("projective/align1/theta").values[32 ..< 40])
        var grid = [Float](repeating: 0, count: 126)
        kernels.transformGridForward(generator, theta, &grid)
        XCTAssertTrue(grid.allSatisfy(\.isFinite))
        // NaN and infinite parameters give no trap.
        for bad: Float in [.nan, .infinity, -.infinity, 3e38] {
            for kind in Self.kinds.map(\.1) {
                let g = TransformGrid(kind: kind, height: 7, width: 9, alignCorners: false)
                var out = [Float](repeating: 0, count: 126)
                kernels.transformGridForward(g, [Float](repeating: bad, count: g.parameterCount), &out)
                var image = [Float](repeating: 1, count: 30)
                var sampled = [Float](repeating: 0, count: 63)
                kernels.sample(&image, 5, 6, 1, out, 63, SamplerOptions(), &sampled)
                XCTAssertTrue(sampled.allSatisfy(\.isFinite), "\(kind) theta \(bad)")
            }
        }
    }

    func testSplineMatrixMatchesPyTorch() throws {
        let file = try HDF5File(path: Self.fixture, mode: .read)
        let expected = try file.readDoubles("tps/matrix_align0").values
        let generator = TransformGrid(kind: .thinPlateSpline, height: 7, width: 9, alignCorners: false)
        var worst = 0.0
        for (a, b) in zip(generator.splineMatrix, expected) { worst = max(worst, abs(Double(a) - b)) }
        XCTAssertLessThanOrEqual(worst, 1e-6)
    }

    /// Generator and bilinear sampler together, the gradient reaching theta through both.
    func testSampledImagesAndGradientsMatchPyTorch() throws {
        try ISA.forEachAvailable { _ in try checkSampledImages() }
    }

    func checkSampledImages() throws {
        let kernels = KernelTable.active
        let file = try HDF5File(path: Self.fixture, mode: .read)
        for (name, kind) in Self.kinds {
            let theta = try file.readFloats("\(name)/align0/theta").values
            let image = try file.readFloats("\(name)/sampled/image").values
            let upstream = try file.readFloats("\(name)/sampled/upstream").values
            let output = try file.readFloats("\(name)/sampled/output").values
            let expectedGradient = try file.readFloats("\(name)/sampled/grad_theta").values
            let generator = TransformGrid(kind: kind, height: 7, width: 9, alignCorners: false)
            let p = generator.parameterCount
            var grid = [Float](repeating: 0, count: 126)
            var sampled = [Float](repeating: 0, count: 63)
            var dGrid = [Float](repeating: 0, count: 126)
            var gradient = [Float](repeating: 0, count: p)
            for n in 0 ..< 5 {
                theta.withUnsafeBufferPointer {
                    kernels.transformGridForward(generator, $0.baseAddress! + n * p, &grid)
                }
                image.withUnsafeBufferPointer { im in
                    kernels.sample(im.baseAddress! + n * 120, 10, 12, 1, grid, 63, SamplerOptions(), &sampled)
                    upstream.withUnsafeBufferPointer {
                        kernels.sampleBackward(
                            im.baseAddress! + n * 120, 10, 12, 1, grid, 63, SamplerOptions(), $0.baseAddress! + n * 63,
                            &dGrid, nil)
                    }
                }
                theta.withUnsafeBufferPointer {
                    kernels.transformGridBackward(generator, $0.baseAddress! + n * p, dGrid, &gradient)
                }
                XCTAssertLessThanOrEqual(error(sampled[...], output[n * 63 ..< (n + 1) * 63]), 1e-5, "\(name) \(n)")
                XCTAssertLessThanOrEqual(
                    error(gradient[...], expectedGradient[n * p ..< (n + 1) * p]), 1e-4, "\(name) \(n) gradient")
            }
        }
    }
}
