import STNKernelInterface
import STNKernelSelection
import XCTest

/// Max and average pooling with padding and explicit output sizes (floor and ceil mode)
/// against PyTorch's loops written out in Double, forward and backward (with finite
/// differences of the average), under every ISA; the unpadded initializer keeps its exact
/// results.
final class PoolTests: XCTestCase {
    static var shapes: [PoolShape] {
        var list: [PoolShape] = []
        /// PyTorch's output size: floor or ceil, and a ceil-mode window must start inside the
        /// input or the left padding.
        func add(
            _ h: Int, _ w: Int, _ c: Int, k: (Int, Int), s: (Int, Int), pad: (Int, Int), ceil: Bool = false,
            include: Bool = false
        ) {
            func size(_ n: Int, _ k: Int, _ s: Int, _ p: Int) -> Int {
                var out = (n + 2 * p - k + (ceil ? s - 1 : 0)) / s + 1
                if ceil && (out - 1) * s >= n + p { out -= 1 }
                return out
            }
            list.append(
                PoolShape(
                    inH: h, inW: w, channels: c, kernelH: k.0, kernelW: k.1, strideH: s.0, strideW: s.1,
                    padTop: pad.0, padLeft: pad.1, outH: size(h, k.0, s.0, pad.0), outW: size(w, k.1, s.1, pad.1),
                    countIncludePad: include, padBottom: pad.0, padRight: pad.1))
        }
        add(9, 9, 16, k: (3, 3), s: (2, 2), pad: (1, 1))
        add(12, 11, 24, k: (3, 3), s: (2, 2), pad: (1, 1), ceil: true)
        add(8, 8, 104, k: (2, 2), s: (2, 2), pad: (0, 0))
        add(7, 7, 8, k: (2, 2), s: (2, 2), pad: (0, 0), ceil: true)
        add(10, 9, 40, k: (5, 5), s: (1, 1), pad: (2, 2), include: true)
        add(11, 13, 8, k: (3, 3), s: (2, 2), pad: (1, 1), ceil: true, include: true)
        add(6, 9, 16, k: (7, 7), s: (3, 3), pad: (3, 3), include: true)
        add(6, 9, 3, k: (3, 2), s: (1, 2), pad: (1, 1))  // a planar input's 3 lanes
        add(5, 6, 256, k: (1, 1), s: (2, 2), pad: (0, 0))
        return list
    }

    struct Window {
        let rows: Range<Int>, columns: Range<Int>, divisor: Double
    }

    /// PyTorch's avg_pool2d / max_pool2d windows.
    func window(_ s: PoolShape, _ oy: Int, _ ox: Int) -> Window {
        let top = oy * s.strideH - s.padTop
        let left = ox * s.strideW - s.padLeft
        let bottom = min(top + s.kernelH, s.inH + s.padBottom)
        let right = min(left + s.kernelW, s.inW + s.padRight)
        let poolSize = (bottom - top) * (right - left)
        let rows = max(top, 0) ..< min(bottom, s.inH)
        let columns = max(left, 0) ..< min(right, s.inW)
        return Window(
            rows: rows, columns: columns,
            divisor: Double(s.countIncludePad ? poolSize : rows.count * columns.count))
    }

    func testPaddedPoolingUnderEveryISA() { ISA.forEachAvailable { _ in checkPadded() } }

    func checkPadded() {
        var random = SeededRandom(seed: 17)
        for s in Self.shapes {
            let c = s.channels
            let label = "\(s.inH)x\(s.inW)x\(c) k\(s.kernelH)x\(s.kernelW) s\(s.strideH) p\(s.padTop) [\(ISA.active)]"
            // Small integers: many ties, so the first maximum must win.
            var input = (0 ..< paddedCount(s.inputCount)).map { _ in Float(Int(random.uniform(-5, 5))) }
            if s.inputCount > 3 * c + 1 {
                input[2 * c + 1] = .nan
                input[3 * c + 1] = .nan
            }
            var output = [Float](repeating: 0, count: paddedCount(s.outputCount))
            var argmax = [Int32](repeating: -9, count: paddedCount(s.outputCount))
            kernels.maxPoolForward(s, input, &output, &argmax)
            var plain = [Float](repeating: 0, count: paddedCount(s.outputCount))
            kernels.maxPoolForward(s, input, &plain, nil)
            var average = [Float](repeating: 0, count: paddedCount(s.outputCount))
            kernels.averagePoolForward(s, input.map { $0.isNaN ? 0.5 : $0 }, &average)
            for oy in 0 ..< s.outH {
                for ox in 0 ..< s.outW {
                    let w = window(s, oy, ox)
                    for ch in 0 ..< c {
                        var best = -Float.infinity
                        var at = -1
                        var sum = 0.0
                        for y in w.rows {
                            for x in w.columns {
                                let i = (y * s.inW + x) * c + ch
                                if at < 0 { at = i }
                                if input[i] > best || (input[i].isNaN && !best.isNaN) {
                                    best = input[i]
                                    at = i
                                }
                                sum += input[i].isNaN ? 0.5 : Double(input[i])
                            }
                        }
                        let o = (oy * s.outW + ox) * c + ch
                        XCTAssertTrue(
                            output[o].bitPattern == best.bitPattern || (output[o].isNaN && best.isNaN),
                            "max \(label) at \(o): \(output[o]) vs \(best)")
                        XCTAssertTrue(plain[o].bitPattern == output[o].bitPattern, "max without argmax \(label)")
                        XCTAssertEqual(Int(argmax[o]), at, "argmax \(label) at \(o)")
                        XCTAssertEqual(Double(average[o]), sum / w.divisor, accuracy: 1e-6, "average \(label) at \(o)")
                    }
                }
            }

            // Backward: max routes to the argmax, average spreads over the window.
            let dOutput = (0 ..< paddedCount(s.outputCount)).map { _ in random.next() }
            var dMax = [Float](repeating: .nan, count: paddedCount(s.inputCount))
            kernels.maxPoolBackward(s, dOutput, argmax, &dMax)
            var dAverage = [Float](repeating: .nan, count: paddedCount(s.inputCount))
            kernels.averagePoolBackward(s, dOutput, &dAverage)
            var expectedMax = [Double](repeating: 0, count: s.inputCount)
            var expectedAverage = [Double](repeating: 0, count: s.inputCount)
            for oy in 0 ..< s.outH {
                for ox in 0 ..< s.outW {
                    let w = window(s, oy, ox)
                    for ch in 0 ..< c {
                        let o = (oy * s.outW + ox) * c + ch
                        expectedMax[Int(argmax[o])] += Double(dOutput[o])
                        for y in w.rows {
                            for x in w.columns {
                                expectedAverage[(y * s.inW + x) * c + ch] += Double(dOutput[o]) / w.divisor
                            }
                        }
                    }
                }
            }
            for i in 0 ..< s.inputCount {
                XCTAssertEqual(Double(dMax[i]), expectedMax[i], accuracy: 1e-5, "max backward \(label) at \(i)")
                XCTAssertEqual(
                    Double(dAverage[i]), expectedAverage[i], accuracy: 1e-5, "average backward \(label) at \(i)")
            }
            // Finite differences of the average (loss = sum output * dOutput).
            let clean = input.map { $0.isNaN ? 0.5 : $0 }
            for i in [0, s.inputCount / 2, s.inputCount - 1] {
                var plus = clean
                plus[i] += 0.01
                var minus = clean
                minus[i] -= 0.01
                var a = average
                var b = average
                kernels.averagePoolForward(s, plus, &a)
                kernels.averagePoolForward(s, minus, &b)
                let fd = (0 ..< s.outputCount).reduce(0.0) { $0 + Double(a[$1] - b[$1]) * Double(dOutput[$1]) } / 0.02
                XCTAssertEqual(Double(dAverage[i]), fd, accuracy: 1e-3 * abs(fd) + 1e-4, "average fd \(label) at \(i)")
            }
        }
    }

    /// The unpadded initializer: floor-mode sizes, and results bit for bit those of the
    /// scalar loops it replaced (sum in window order, then one division).
    func testUnpaddedInitializerKeepsItsResults() {
        ISA.forEachAvailable { _ in
            var random = SeededRandom(seed: 29)
            let s = PoolShape(inH: 11, inW: 10, channels: 24, kernelH: 3, kernelW: 2, strideH: 2, strideW: 3)
            XCTAssertEqual(s.outH, 5)
            XCTAssertEqual(s.outW, 3)
            XCTAssertEqual(s.padTop + s.padLeft + s.padBottom + s.padRight, 0)
            let input = (0 ..< paddedCount(s.inputCount)).map { _ in random.next() }
            var average = [Float](repeating: 0, count: paddedCount(s.outputCount))
            kernels.averagePoolForward(s, input, &average)
            var maximum = [Float](repeating: 0, count: paddedCount(s.outputCount))
            kernels.maxPoolForward(s, input, &maximum, nil)
            for y in 0 ..< s.outH {
                for x in 0 ..< s.outW {
                    for c in 0 ..< s.channels {
                        var sum: Float = 0
                        var best = -Float.infinity
                        for ky in 0 ..< 3 {
                            for kx in 0 ..< 2 {
                                let v = input[((y * 2 + ky) * s.inW + x * 3 + kx) * s.channels + c]
                                sum += v
                                best = max(best, v)
                            }
                        }
                        let o = (y * s.outW + x) * s.channels + c
                        XCTAssertEqual(average[o].bitPattern, (sum / 6).bitPattern, "average at \(o) [\(ISA.active)]")
                        XCTAssertEqual(maximum[o], best)
                    }
                }
            }
        }
    }
}
