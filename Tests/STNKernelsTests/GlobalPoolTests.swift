import STNKernelInterface
import STNKernelSelection
import XCTest

/// Global average and max pooling against plain Double loops, forward and backward (and
/// finite differences of the average), under every ISA this machine runs.
final class GlobalPoolTests: XCTestCase {
    func testAverageUnderEveryISA() { ISA.forEachAvailable { _ in checkAverage() } }

    func checkAverage() {
        var random = SeededRandom(seed: 5)
        for (pixels, channels) in [(1, 8), (3, 16), (7, 24), (49, 8), (64, 40), (2304, 16), (13, 256)] {
            let shape = GlobalPoolShape(pixels: pixels, channels: channels)
            let input = (0 ..< paddedCount(pixels * channels)).map { _ in random.uniform(-4, 4) }
            var output = [Float](repeating: .nan, count: paddedCount(channels))
            kernels.globalAveragePoolForward(shape, input, &output)
            for c in 0 ..< channels {
                let expected = (0 ..< pixels).reduce(0.0) { $0 + Double(input[$1 * channels + c]) } / Double(pixels)
                XCTAssertEqual(
                    Double(output[c]), expected, accuracy: 1e-5 * (abs(expected) + 1),
                    "mean \(pixels) x \(channels) channel \(c) [\(ISA.active)]")
            }
            let dOutput = (0 ..< paddedCount(channels)).map { _ in random.next() }
            var dInput = [Float](repeating: .nan, count: paddedCount(pixels * channels))
            kernels.globalAveragePoolBackward(shape, dOutput, &dInput)
            for i in 0 ..< pixels * channels {
                XCTAssertEqual(
                    Double(dInput[i]), Double(dOutput[i % channels]) / Double(pixels),
                    accuracy: 1e-7 * abs(Double(dOutput[i % channels])), "mean backward \(i)")
            }
            // Finite differences: loss = sum output * dOutput, one input at a time.
            for i in [0, pixels * channels / 2, pixels * channels - 1] {
                var plus = input
                plus[i] += 0.05
                var minus = input
                minus[i] -= 0.05
                var a = output
                var b = output
                kernels.globalAveragePoolForward(shape, plus, &a)
                kernels.globalAveragePoolForward(shape, minus, &b)
                let fd = (0 ..< channels).reduce(0.0) { $0 + Double(a[$1] - b[$1]) * Double(dOutput[$1]) } / 0.1
                XCTAssertEqual(Double(dInput[i]), fd, accuracy: 1e-3 * abs(fd) + 1e-5, "mean fd at \(i)")
            }
        }
    }

    func testMaxUnderEveryISA() { ISA.forEachAvailable { _ in checkMax() } }

    func checkMax() {
        var random = SeededRandom(seed: 9)
        for (pixels, channels) in [(1, 8), (5, 16), (7, 24), (49, 8), (64, 40), (900, 16), (13, 256)] {
            let shape = GlobalPoolShape(pixels: pixels, channels: channels)
            // Few distinct values, so ties are common: the first maximum must win.
            var input = (0 ..< paddedCount(pixels * channels)).map { _ in Float(Int(random.uniform(-4, 4))) }
            // A NaN in channel 1 (the first of two NaNs wins), -infinity everywhere in channel 2.
            if pixels > 2 {
                input[1 * channels + 1] = .nan
                input[2 * channels + 1] = .nan
            }
            for p in 0 ..< pixels { input[p * channels + 2] = -.infinity }
            var output = [Float](repeating: 0, count: paddedCount(channels))
            var argmax = [Int32](repeating: -7, count: paddedCount(channels))
            kernels.globalMaxPoolForward(shape, input, &output, &argmax)
            var plain = [Float](repeating: 0, count: paddedCount(channels))
            kernels.globalMaxPoolForward(shape, input, &plain, nil)
            for c in 0 ..< channels {
                var best = -Float.infinity
                var at = c
                for p in 0 ..< pixels {
                    let v = input[p * channels + c]
                    if v > best || (v.isNaN && !best.isNaN) {
                        best = v
                        at = p * channels + c
                    }
                }
                XCTAssertTrue(
                    output[c].bitPattern == best.bitPattern || (output[c].isNaN && best.isNaN),
                    "max channel \(c): \(output[c]) vs \(best) [\(ISA.active)]")
                XCTAssertTrue(
                    plain[c].bitPattern == best.bitPattern || (plain[c].isNaN && best.isNaN), "max without argmax")
                XCTAssertEqual(Int(argmax[c]), at, "argmax channel \(c) [\(ISA.active)]")
            }
            let dOutput = (0 ..< paddedCount(channels)).map { _ in random.next() }
            var dInput = [Float](repeating: .nan, count: paddedCount(pixels * channels))
            kernels.globalMaxPoolBackward(shape, dOutput, argmax, &dInput)
            for i in 0 ..< pixels * channels {
                let c = i % channels
                XCTAssertEqual(dInput[i], Int(argmax[c]) == i ? dOutput[c] : 0, "max backward \(i)")
            }
        }
    }
}
