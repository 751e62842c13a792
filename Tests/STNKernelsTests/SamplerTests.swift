import STNKernelInterface
import STNKernelSelection
import XCTest

/// The bilinear sampler over images of several channels per pixel (an RGB image, an
/// 8-channel feature map, odd counts) against plain loops in Double, with zero padding:
/// grid points well inside, on the last row and column, partly and wholly outside, and
/// NaN, with each ISA's kernels this machine supports.
final class SamplerTests: XCTestCase {
    func testSeveralChannelsMatchScalarLoops() { ISA.forEachAvailable { _ in checkSeveralChannels() } }

    func checkSeveralChannels() {
        var random = SeededRandom(seed: 11)
        let (height, width) = (7, 9)
        for stride in [1, 2, 3, 8, 11, 16, 19] {
            let image = (0 ..< paddedCount(height * width * stride)).map { _ in random.next() }
            var grid: [Float] = []
            for _ in 0 ..< 200 { grid.append(random.uniform(-1.3, 1.3)) }
            grid += [-1, -1, 1, 1, 1 - 1 / Float(width), 1 - 1 / Float(height), .nan, 0, 0, .nan, 0.999, -0.999]
            let count = grid.count / 2
            var output = [Float](repeating: .nan, count: paddedCount(count * stride))
            kernels.sample(image, height, width, stride, grid, count, SamplerOptions(), &output)
            for i in 0 ..< count {
                for c in 0 ..< stride {
                    var expected = 0.0
                    let gx = Double(grid[2 * i])
                    let gy = Double(grid[2 * i + 1])
                    if !gx.isNaN && !gy.isNaN {
                        let ix = ((gx + 1) * Double(width) - 1) / 2
                        let iy = ((gy + 1) * Double(height) - 1) / 2
                        let x0 = Int(ix.rounded(.down))
                        let y0 = Int(iy.rounded(.down))
                        let fx = ix - Double(x0)
                        let fy = iy - Double(y0)
                        for (dx, dy, weight) in [
                            (0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy),
                        ] {
                            let (x, y) = (x0 + dx, y0 + dy)
                            guard x >= 0 && x < width && y >= 0 && y < height else { continue }
                            expected += weight * Double(image[(y * width + x) * stride + c])
                        }
                    }
                    XCTAssertTrue(
                        close(output[i * stride + c], expected, relative: 0, absolute: 1e-6),
                        "stride \(stride) point \(i) channel \(c): \(output[i * stride + c]) vs \(expected) [\(ISA.active)]"
                    )
                }
            }
        }
    }
}
