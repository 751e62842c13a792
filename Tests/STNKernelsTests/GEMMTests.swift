import STNKernelInterface
import STNKernelSelection
import XCTest

/// The microkernel and its drivers against plain loops, including partial row blocks and
/// every column-block mix (8 to 64 columns: with 16-lane registers 32-column blocks, then
/// 16 and 8), with each ISA's kernels this machine supports.
final class GEMMTests: XCTestCase {
    var state: UInt64 = 42
    func random() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int(state >> 40) - (1 << 23)) / Float(1 << 23)
    }

    func testGEMMMatchesNaiveLoops() { ISA.forEachAvailable { _ in checkGEMMMatchesNaiveLoops() } }

    func checkGEMMMatchesNaiveLoops() {
        for (m, n, k) in [
            (1, 8, 1), (5, 16, 7), (6, 24, 13), (13, 40, 33), (37, 32, 100), (7, 48, 9), (12, 56, 20), (8, 64, 5),
            // B above 2^17 floats: panel by panel (every panel-width mix of 16- and 8-lane registers).
            (13, 136, 1_100), (8, 72, 2_000), (19, 40, 3_300), (7, 104, 1_300),
        ] {
            let a = (0 ..< m * k).map { _ in random() }
            let b = (0 ..< k * n).map { _ in random() }
            let c0 = (0 ..< m * n).map { _ in random() }
            var c = c0
            kernels.gemmAccumulate(m, n, a, .linear(step: k), b, .contiguous(k, ldb: n), &c, n, .accumulate)
            for i in 0 ..< m {
                for j in 0 ..< n {
                    var expected = Double(c0[i * n + j])
                    for t in 0 ..< k { expected += Double(a[i * k + t]) * Double(b[t * n + j]) }
                    XCTAssertEqual(
                        Double(c[i * n + j]), expected, accuracy: 1e-4 * Double(k),
                        "m \(m) n \(n) k \(k) at (\(i), \(j)) [\(ISA.active)]")
                }
            }
        }
    }

    /// C = start + A B for the three starts (C's own values, zero, a bias row), on row maps
    /// whose lines hold 1 to 7 rows (the row offsets are stepped, never divided), partial last
    /// blocks, panel by panel too; C's old values must not leak into the zero and bias starts.
    func testStartsAndRowMaps() { ISA.forEachAvailable { _ in checkStartsAndRowMaps() } }

    func checkStartsAndRowMaps() {
        for (m, n, k, perLine, step) in [
            (13, 24, 5, 1, 5), (11, 16, 9, 2, 9), (17, 40, 3, 5, 3), (20, 8, 7, 7, 7), (9, 136, 1_100, 4, 1_100),
            // One float per row (a one-channel image): lines of 6 rows and more, then fewer.
            (31, 16, 9, 13, 1), (25, 40, 4, 6, 1), (17, 8, 3, 4, 1), (19, 32, 5, 8, 2),
        ] {
            // Row i reads A at (i / perLine) * lineStride + (i % perLine) * step: lines padded apart.
            let lineStride = perLine * step + k + 3
            let a = (0 ..< ((m - 1) / perLine + 1) * lineStride).map { _ in random() }
            let b = (0 ..< k * n).map { _ in random() }
            let row = (0 ..< n).map { _ in random() }
            let old = (0 ..< m * n).map { _ in random() }
            let rows = RowMap(perLine: perLine, lineStride: lineStride, step: step)
            for start in 0 ..< 3 {
                var c = old
                row.withUnsafeBufferPointer { r in
                    let mode: GEMMStart = start == 0 ? .accumulate : start == 1 ? .zero : .row(r.baseAddress!)
                    kernels.gemmAccumulate(m, n, a, rows, b, .contiguous(k, ldb: n), &c, n, mode)
                }
                for i in 0 ..< m {
                    let offset = (i / perLine) * lineStride + (i % perLine) * step
                    for j in 0 ..< n {
                        var expected = Double(start == 0 ? old[i * n + j] : start == 1 ? 0 : row[j])
                        for t in 0 ..< k { expected += Double(a[offset + t]) * Double(b[t * n + j]) }
                        XCTAssertEqual(
                            Double(c[i * n + j]), expected, accuracy: 1e-4 * Double(k),
                            "start \(start) m \(m) n \(n) k \(k) per line \(perLine) at (\(i), \(j)) [\(ISA.active)]")
                    }
                }
            }
        }
    }

    func testConvolutionForwardMatchesDirectLoops() {
        ISA.forEachAvailable { _ in checkConvolutionForwardMatchesDirectLoops() }
    }

    func checkConvolutionForwardMatchesDirectLoops() {
        let shape = Conv2DShape(inH: 11, inW: 9, inC: 3, outC: 10, kernel: 4)
        let input = (0 ..< shape.inputCount).map { _ in random() }
        let torch = (0 ..< 10 * 3 * 16).map { _ in random() }
        var bias = (0 ..< shape.outCp).map { _ in random() }
        for c in 10 ..< shape.outCp { bias[c] = 0 }
        var packed = [Float](repeating: 0, count: shape.k * shape.outCp)
        var out = [Float](repeating: 0, count: shape.outputCount)
        shape.pack(torch: torch, realInC: 3, into: &packed)
        kernels.conv2DForward(shape, input, packed, bias, &out)
        for y in 0 ..< shape.outH {
            for x in 0 ..< shape.outW {
                for co in 0 ..< shape.outCp {
                    var expected = Double(bias[co])
                    if co < 10 {
                        for ci in 0 ..< 3 {
                            for ky in 0 ..< 4 {
                                for kx in 0 ..< 4 {
                                    expected +=
                                        Double(input[((y + ky) * 9 + x + kx) * 3 + ci])
                                        * Double(torch[((co * 3 + ci) * 4 + ky) * 4 + kx])
                                }
                            }
                        }
                    }
                    XCTAssertEqual(
                        Double(out[(y * shape.outW + x) * shape.outCp + co]), expected, accuracy: 1e-4,
                        "(\(y), \(x), \(co)) [\(ISA.active)]")
                }
            }
        }
    }

    func testDownsampleIsTheMeanOfEach2x2Block() {
        ISA.forEachAvailable { _ in checkDownsampleIsTheMeanOfEach2x2Block() }
    }

    func checkDownsampleIsTheMeanOfEach2x2Block() {
        let input: [Float] = (0 ..< 25).map(Float.init)  // 5x5 -> 2x2, last row and column unused
        var out = [Float](repeating: 0, count: 4)
        kernels.resize(input, 5, 5, 1, 2, 2, 2, 2, false, &out)  // F.interpolate(scale_factor=0.5)
        XCTAssertEqual(out, [3, 5, 13, 15])
    }

    func testIdentityGridSamplesEveryPixelExactly() {
        ISA.forEachAvailable { _ in checkIdentityGridSamplesEveryPixelExactly() }
    }

    func checkIdentityGridSamplesEveryPixelExactly() {
        let side = 9
        let image = (0 ..< side * side).map { Float($0) / 81 }
        var grid = [Float](repeating: 0, count: 2 * side * side)
        var out = [Float](repeating: 0, count: side * side)
        let identity = TransformGrid(kind: .affine, height: side, width: side, alignCorners: false)
        kernels.transformGridForward(identity, [1, 0, 0, 0, 1, 0], &grid)
        kernels.sample(image, side, side, 1, grid, side * side, SamplerOptions(), &out)
        for i in 0 ..< side * side { XCTAssertEqual(out[i], image[i], accuracy: 1e-6) }
    }

    func testPoolReLUMatchesScalarLoopsIncludingTies() {
        ISA.forEachAvailable { _ in checkPoolReLUMatchesScalarLoopsIncludingTies() }
    }

    func checkPoolReLUMatchesScalarLoopsIncludingTies() {
        for shape in [PoolReLUShape(inH: 7, inW: 6, channels: 16), PoolReLUShape(inH: 6, inW: 9, channels: 8)] {
            checkPoolReLU(shape)
        }
    }

    func checkPoolReLU(_ shape: PoolReLUShape) {
        // Values from a small set so that ties are common: the first maximum in scan order
        // must win, as in PyTorch.
        let input = (0 ..< shape.inputCount).map { _ in Float(Int(random() * 3)) }
        var output = [Float](repeating: -1, count: shape.outputCount)
        var argmax = [Int32](repeating: -1, count: shape.outputCount)
        var plain = [Float](repeating: -1, count: shape.outputCount)
        kernels.poolReLUForward(shape, input, &output, &argmax)
        kernels.poolReLUForward(shape, input, &plain, nil)
        XCTAssertEqual(plain, output)
        let c = shape.channels
        for y in 0 ..< shape.outH {
            for x in 0 ..< shape.outW {
                for ch in 0 ..< c {
                    let candidates = [(2 * y, 2 * x), (2 * y, 2 * x + 1), (2 * y + 1, 2 * x), (2 * y + 1, 2 * x + 1)]
                        .map { ($0.0 * shape.inW + $0.1) * c + ch }
                    var at = candidates[0]
                    for i in candidates.dropFirst() where input[i] > input[at] { at = i }
                    let o = (y * shape.outW + x) * c + ch
                    XCTAssertEqual(output[o], max(input[at], 0))
                    XCTAssertEqual(Int(argmax[o]), at, "first maximum in scan order at output \(o)")
                }
            }
        }
        // Backward: each output's gradient to the input that won, where the ReLU passed it.
        let dOutput = (0 ..< shape.outputCount).map { _ in random() - 0.5 }
        var expected = [Float](repeating: 0, count: shape.inputCount)
        for o in 0 ..< shape.outputCount where output[o] > 0 { expected[Int(argmax[o])] += dOutput[o] }
        var dInput = [Float](repeating: .nan, count: shape.inputCount)
        kernels.poolReLUBackward(shape, dOutput, output, argmax, &dInput)
        XCTAssertEqual(dInput, expected, "pool backward, \(shape)")
    }
}
