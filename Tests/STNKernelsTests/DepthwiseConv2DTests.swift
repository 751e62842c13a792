import STNKernelInterface
import STNKernelSelection
import XCTest

/// Depthwise convolution against a direct Double loop over PyTorch's weight layout, forward
/// and both gradients, plus finite differences of the forward pass, on shapes with odd
/// sizes, every padding 0-2, stride 1-2, dilation 1-2 and kernels 1-7, under every ISA.
final class DepthwiseConv2DTests: XCTestCase {
    struct Case {
        let shape: DepthwiseConv2DShape
        let realChannels: Int
    }

    static var cases: [Case] {
        var list: [Case] = []
        func add(
            _ h: Int, _ w: Int, _ realC: Int, k: (Int, Int), s: (Int, Int), pad: (Int, Int, Int, Int),
            d: (Int, Int) = (1, 1)
        ) {
            list.append(
                Case(
                    shape: DepthwiseConv2DShape(
                        inH: h, inW: w, channels: roundUpTo8(realC), kernelH: k.0, kernelW: k.1, strideH: s.0,
                        strideW: s.1, padTop: pad.0, padLeft: pad.1, padBottom: pad.2, padRight: pad.3,
                        dilationH: d.0, dilationW: d.1),
                    realChannels: realC))
        }
        add(9, 7, 8, k: (3, 3), s: (1, 1), pad: (1, 1, 1, 1))
        add(9, 11, 16, k: (3, 3), s: (2, 2), pad: (1, 1, 1, 1))
        add(8, 8, 24, k: (3, 3), s: (2, 2), pad: (0, 0, 1, 1))  // TF-style asymmetric "same"
        add(7, 9, 13, k: (5, 5), s: (1, 1), pad: (2, 2, 2, 2))
        add(11, 10, 24, k: (3, 3), s: (1, 2), pad: (2, 1, 0, 2), d: (2, 2))
        add(6, 5, 8, k: (1, 1), s: (1, 1), pad: (0, 0, 0, 0))
        add(13, 12, 5, k: (7, 7), s: (2, 1), pad: (1, 2, 2, 1), d: (1, 2))
        add(5, 13, 40, k: (3, 5), s: (1, 2), pad: (0, 2, 1, 0))
        add(3, 3, 16, k: (3, 3), s: (1, 1), pad: (2, 2, 2, 2), d: (2, 1))
        add(12, 14, 32, k: (3, 3), s: (1, 1), pad: (1, 1, 1, 1))  // rows of whole windows between the edges
        return list
    }

    func reference(_ s: DepthwiseConv2DShape, _ input: [Float], _ torch: [Float], _ bias: [Float], realC: Int)
        -> [Double]
    {
        var out = [Double](repeating: 0, count: s.outputCount)
        for oy in 0 ..< s.outH {
            for ox in 0 ..< s.outW {
                for c in 0 ..< realC {
                    var sum = Double(bias[c])
                    for ky in 0 ..< s.kernelH {
                        for kx in 0 ..< s.kernelW {
                            let iy = oy * s.strideH - s.padTop + ky * s.dilationH
                            let ix = ox * s.strideW - s.padLeft + kx * s.dilationW
                            guard iy >= 0, iy < s.inH, ix >= 0, ix < s.inW else { continue }
                            sum +=
                                Double(input[(iy * s.inW + ix) * s.channels + c])
                                * Double(torch[(c * s.kernelH + ky) * s.kernelW + kx])
                        }
                    }
                    out[(oy * s.outW + ox) * s.channels + c] = sum
                }
            }
        }
        return out
    }

    func testForwardAndGradientsUnderEveryISA() { ISA.forEachAvailable { _ in checkAll() } }

    func checkAll() {
        var random = SeededRandom(seed: 21)
        for test in Self.cases {
            let s = test.shape
            let realC = test.realChannels
            let c = s.channels
            var input = (0 ..< paddedCount(s.inputCount)).map { _ in random.next() }
            for i in 0 ..< s.inputCount where i % c >= realC { input[i] = 0 }
            let torch = (0 ..< realC * s.taps).map { _ in random.next() }
            var bias = (0 ..< paddedCount(c)).map { _ in random.next() }
            for j in realC ..< bias.count { bias[j] = 0 }
            var packed = [Float](repeating: .nan, count: paddedCount(s.packedCount))
            s.pack(torch: torch, realChannels: realC, into: &packed)
            var output = [Float](repeating: .nan, count: paddedCount(s.outputCount))
            kernels.depthwiseForward(s, input, packed, bias, &output)
            let expected = reference(s, input, torch, bias, realC: realC)
            let label = "\(s.inH)x\(s.inW)x\(realC) k\(s.kernelH)x\(s.kernelW) [\(ISA.active)]"
            for i in 0 ..< s.outputCount {
                XCTAssertEqual(
                    Double(output[i]), expected[i], accuracy: 1e-5 * (abs(expected[i]) + 1),
                    "forward \(label) at \(i)")
            }

            // Backward against the transposed loops: dIn = sum dOut * w; dW = sum in * dOut.
            let dOutput = (0 ..< paddedCount(s.outputCount)).map { i in
                i < s.outputCount && i % c < realC ? random.next() : 0
            }
            var dInput = [Float](repeating: .nan, count: paddedCount(s.inputCount))
            kernels.depthwiseBackwardInput(s, dOutput, packed, &dInput)
            var dPacked = [Float](repeating: 0.5, count: paddedCount(s.packedCount))
            var dBias = [Float](repeating: 0.25, count: paddedCount(c))
            kernels.depthwiseBackwardWeights(s, input, dOutput, &dPacked, &dBias)
            var expectedDIn = [Double](repeating: 0, count: s.inputCount)
            var expectedDW = [Double](repeating: 0, count: realC * s.taps)
            var expectedDBias = [Double](repeating: 0.25, count: c)
            for oy in 0 ..< s.outH {
                for ox in 0 ..< s.outW {
                    for ch in 0 ..< realC {
                        let g = Double(dOutput[(oy * s.outW + ox) * c + ch])
                        expectedDBias[ch] += g
                        for ky in 0 ..< s.kernelH {
                            for kx in 0 ..< s.kernelW {
                                let iy = oy * s.strideH - s.padTop + ky * s.dilationH
                                let ix = ox * s.strideW - s.padLeft + kx * s.dilationW
                                guard iy >= 0, iy < s.inH, ix >= 0, ix < s.inW else { continue }
                                let t = (ch * s.kernelH + ky) * s.kernelW + kx
                                let i = (iy * s.inW + ix) * c + ch
                                expectedDIn[i] += g * Double(torch[t])
                                expectedDW[t] += g * Double(input[i])
                            }
                        }
                    }
                }
            }
            for i in 0 ..< s.inputCount {
                XCTAssertEqual(
                    Double(dInput[i]), expectedDIn[i], accuracy: 1e-5 * (abs(expectedDIn[i]) + 1),
                    "dInput \(label) at \(i)")
            }
            for j in 0 ..< c {
                XCTAssertEqual(Double(dBias[j]), expectedDBias[j], accuracy: 1e-4, "dBias \(label) \(j)")
            }
            var torchGradient = [Float](repeating: 0, count: realC * s.taps)
            for i in 0 ..< s.packedCount { dPacked[i] -= 0.5 }
            s.unpackAdding(packed: dPacked, realChannels: realC, into: &torchGradient)
            for t in 0 ..< realC * s.taps {
                XCTAssertEqual(
                    Double(torchGradient[t]), expectedDW[t], accuracy: 1e-5 * (abs(expectedDW[t]) + 1),
                    "dW \(label) at \(t)")
            }
            for t in 0 ..< s.taps {
                for j in realC ..< c { XCTAssertEqual(dPacked[t * c + j], 0, "padding lane of dW") }
            }

            // Finite differences of loss = sum output * dOutput, for a few inputs and weights.
            func loss(_ input: [Float], _ torch: [Float]) -> Double {
                var p = [Float](repeating: 0, count: paddedCount(s.packedCount))
                s.pack(torch: torch, realChannels: realC, into: &p)
                var out = [Float](repeating: 0, count: paddedCount(s.outputCount))
                kernels.depthwiseForward(s, input, p, bias, &out)
                return (0 ..< s.outputCount).reduce(0) { $0 + Double(out[$1]) * Double(dOutput[$1]) }
            }
            let h: Float = 1e-2
            for i in [0, (s.inputCount / 2) / c * c + realC - 1, s.inputCount - c] {
                var plus = input
                plus[i] += h
                var minus = input
                minus[i] -= h
                let fd = (loss(plus, torch) - loss(minus, torch)) / Double(2 * h)
                XCTAssertEqual(Double(dInput[i]), fd, accuracy: 1e-3 * abs(fd) + 1e-3, "dInput fd \(label) at \(i)")
            }
            for t in [0, realC * s.taps / 2, realC * s.taps - 1] {
                var plus = torch
                plus[t] += h
                var minus = torch
                minus[t] -= h
                let fd = (loss(input, plus) - loss(input, minus)) / Double(2 * h)
                XCTAssertEqual(Double(torchGradient[t]), fd, accuracy: 1e-3 * abs(fd) + 1e-3, "dW fd \(label) at \(t)")
            }
        }
    }
}
