import STNKernelInterface
import STNKernelSelection
import XCTest

/// The Winograd transforms against their definition (1-D correlation in exact-ish Double),
/// and the Winograd convolution against the direct one on random data: the seed models'
/// shapes, edge tiles (outputs not a multiple of the tile), padded channels, every kernel size.
final class WinogradTests: XCTestCase {
    var state: UInt64 = 7
    func random() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int(state >> 40) - (1 << 23)) / Float(1 << 23)
    }

    /// y = A^T [(G g) ⊙ (B^T d)] equals the correlation y_i = sum_k g_k d_(i+k), for every
    /// tile size and r.
    func testTransformsComputeCorrelation() {
        for alpha in [4, 6, 8] {
            for r in 2 ... alpha - 1 {
                let t = WinogradTransform(kernel: r, alpha: alpha)
                let m = t.outputTile
                XCTAssertEqual(m + r - 1, alpha)
                XCTAssertEqual(t.bT.count, alpha)
                XCTAssertEqual(t.g.count, alpha)
                let g = (0 ..< r).map { _ in Double(random()) }
                let d = (0 ..< alpha).map { _ in Double(random()) }
                let gg = (0 ..< alpha).map { j in (0 ..< r).reduce(0.0) { $0 + t.g[j][$1] * g[$1] } }
                let bd = (0 ..< alpha).map { j in (0 ..< alpha).reduce(0.0) { $0 + t.bT[j][$1] * d[$1] } }
                for i in 0 ..< m {
                    let y = (0 ..< alpha).reduce(0.0) { $0 + t.aT[i][$1] * gg[$1] * bd[$1] }
                    let expected = (0 ..< r).reduce(0.0) { $0 + g[$1] * d[i + $1] }
                    XCTAssertEqual(y, expected, accuracy: 1e-12, "F(\(m), \(r)) output \(i)")
                }
            }
        }
    }

    /// The pairwise Float coefficients are B^T's entries (zero past the tile's points).
    func testPairwiseCoefficientsAreBTransposed() {
        for alpha in [4, 6, 8] {
            let t = WinogradTransform(kernel: 3, alpha: alpha)
            let last = alpha - 1
            let k = t.input
            func entry(_ row: Int, _ power: Int) -> Double { power < alpha ? t.bT[row][power] : 0 }
            for (n, power) in [0, 2, 4, 6].enumerated() { XCTAssertEqual(Double(k.zero[n]), entry(0, power)) }
            XCTAssertEqual(t.bT[0][1], 0)
            for (pair, c) in [k.pair1, k.pair2, k.pair3].enumerated() {
                let plus = 2 * pair + 1
                guard plus < last else {
                    XCTAssertEqual(c, SIMD8<Float>(), "pair \(pair) of a tile of \(alpha)")
                    continue
                }
                XCTAssertEqual(t.bT[plus][0], 0)
                XCTAssertEqual(t.bT[plus][last], 0)
                for power in 1 ..< 7 {
                    XCTAssertEqual(Double(c[power - 1]), entry(plus, power))
                    XCTAssertEqual(entry(plus + 1, power), power % 2 == 0 ? entry(plus, power) : -entry(plus, power))
                }
            }
            for (n, power) in [1, 3, 5, 7].enumerated() { XCTAssertEqual(Double(k.infinity[n]), entry(last, power)) }
            XCTAssertEqual(t.bT[last][0], 0)
        }
    }

    /// Largest |winograd - direct| over the output, relative to the largest |direct|.
    func relativeError(_ shape: Conv2DShape, realInC: Int, alpha: Int = 8, tileRowsPerBlock: Int? = nil) -> Float {
        let input = (0 ..< shape.inputCount).map { i in i % shape.inC < realInC ? random() : 0 }
        let torch = (0 ..< shape.outC * realInC * shape.kernelH * shape.kernelW).map { _ in random() }
        var bias = (0 ..< shape.outCp).map { _ in random() }
        for c in shape.outC ..< shape.outCp { bias[c] = 0 }
        var packed = [Float](repeating: 0, count: shape.k * shape.outCp)
        shape.pack(torch: torch, realInC: realInC, into: &packed)
        var direct = [Float](repeating: 0, count: shape.outputCount)
        kernels.conv2DForward(shape, input, packed, bias, &direct)

        let winograd = WinogradConv2D(
            shape: shape, realInC: realInC, alpha: alpha, tileRowsPerBlock: tileRowsPerBlock)
        var u = [Float](repeating: 0, count: winograd.weightFloats)
        kernels.winogradTransformWeights(winograd, packed, &u)
        var scratch = [Float](repeating: .nan, count: winograd.scratchFloats)
        var out = [Float](repeating: .nan, count: shape.outputCount)
        kernels.winogradForward(winograd, input, u, bias, &scratch, &out)
        let scale = direct.map(abs).max()!
        var worst: Float = 0
        for i in 0 ..< out.count {
            XCTAssertFalse(out[i].isNaN, "output \(i) not written")
            worst = max(worst, abs(out[i] - direct[i]))
        }
        return worst / scale
    }

    func testMatchesDirectConvolutionOnSeedShapes() {
        // The CNN's second convolution (36 channels padded to 40), the ST-CNN's (32), the
        // localisation net's second (20 padded to 24, 5x5 on 8x8: one tile).
        for (shape, realInC) in [
            (Conv2DShape(inH: 17, inW: 17, inC: 40, outC: 36, kernel: 7), 36),
            (Conv2DShape(inH: 17, inW: 17, inC: 32, outC: 32, kernel: 7), 32),
            (Conv2DShape(inH: 8, inW: 8, inC: 24, outC: 20, kernel: 5), 20),
        ] {
            let error = relativeError(shape, realInC: realInC)
            XCTAssertLessThan(error, 2e-5, "\(shape)")
        }
    }

    func testMatchesDirectConvolutionOnOddShapes() {
        for (shape, realInC, rows) in [
            (Conv2DShape(inH: 9, inW: 14, inC: 8, outC: 3, kernel: 3), 5, nil),
            (Conv2DShape(inH: 12, inW: 10, inC: 16, outC: 17, kernel: 4), 16, 1),
            (Conv2DShape(inH: 7, inW: 7, inC: 8, outC: 8, kernel: 7), 8, nil),
            (Conv2DShape(inH: 20, inW: 13, inC: 24, outC: 40, kernel: 5), 21, 2),
            (Conv2DShape(inH: 6, inW: 9, inC: 48, outC: 9, kernel: 2), 48, nil),
            (Conv2DShape(inH: 23, inW: 18, inC: 40, outC: 36, kernel: 6), 33, 3),
        ] {
            let error = relativeError(shape, realInC: realInC, tileRowsPerBlock: rows)
            XCTAssertLessThan(error, 2e-5, "\(shape)")
        }
    }

    /// F(2x2, r x r) and F(4x4, r x r) (tiles of 4 and 6): the GTSRB classifier's 3x3 layers
    /// narrowed (their maps of 22, 11, 14 and 7), edge tiles, padded channels, one tile row
    /// per block and all of them, every kernel a tile can hold. Under every ISA.
    func testSmallTilesMatchDirectConvolution() {
        ISA.forEachAvailable { isa in
            for (shape, realInC, alpha, rows) in [
                (Conv2DShape(inH: 24, inW: 24, inC: 16, outC: 24, kernel: 3), 13, 6, nil),
                (Conv2DShape(inH: 13, inW: 13, inC: 24, outC: 40, kernel: 3), 22, 4, nil),
                (Conv2DShape(inH: 13, inW: 13, inC: 24, outC: 40, kernel: 3), 22, 6, 1),
                (Conv2DShape(inH: 16, inW: 16, inC: 16, outC: 24, kernel: 3), 16, 6, 4),
                (Conv2DShape(inH: 9, inW: 9, inC: 24, outC: 40, kernel: 3), 22, 4, 2),
                (Conv2DShape(inH: 9, inW: 14, inC: 8, outC: 3, kernel: 3), 5, 4, 1),
                (Conv2DShape(inH: 11, inW: 7, inC: 8, outC: 17, kernel: 2), 8, 4, nil),
                (Conv2DShape(inH: 12, inW: 10, inC: 16, outC: 17, kernel: 4), 16, 6, 2),
                (Conv2DShape(inH: 10, inW: 10, inC: 56, outC: 20, kernel: 5), 50, 6, nil),
                (Conv2DShape(inH: 7, inW: 9, inC: 48, outC: 9, kernel: 2), 48, 6, nil),
            ] {
                let error = relativeError(shape, realInC: realInC, alpha: alpha, tileRowsPerBlock: rows)
                XCTAssertLessThan(error, 2e-5, "\(isa), tiles of \(alpha), \(shape)")
            }
        }
    }

    /// The Winograd backward pass against the direct one on the same random data: largest
    /// |difference| relative to the largest |direct value|, for the input gradient, the
    /// weight gradient (PyTorch layout, accumulated over two images) and the bias gradient.
    func backwardErrors(_ shape: Conv2DShape, realInC: Int, alpha: Int = 8) -> (
        input: Float, weights: Float, bias: Float
    ) {
        let winograd = WinogradConv2D(shape: shape, realInC: realInC, alpha: alpha)
        let torchCount = shape.outC * realInC * shape.kernelH * shape.kernelW
        let torch = (0 ..< torchCount).map { _ in random() }
        var packed = [Float](repeating: 0, count: shape.k * shape.outCp)
        shape.pack(torch: torch, realInC: realInC, into: &packed)
        var packedT = [Float](repeating: 0, count: shape.outCp * shape.kp)
        shape.transpose(packed: packed, into: &packedT)
        var u = [Float](repeating: 0, count: winograd.weightFloats)
        kernels.winogradTransformWeights(winograd, packed, &u)
        var uT = [Float](repeating: .nan, count: winograd.weightFloats)
        winograd.transposeWeights(u, into: &uT)

        var directPacked = [Float](repeating: 0, count: shape.k * shape.outCp)
        var directBias = [Float](repeating: 0, count: shape.outCp)
        var dU = [Float](repeating: 0, count: winograd.weightFloats)
        var bias = [Float](repeating: 0, count: shape.outCp)
        var worstInput: Float = 0
        for _ in 0 ..< 2 {
            let input = (0 ..< shape.inputCount).map { i in i % shape.inC < realInC ? random() : 0 }
            let dOutput = (0 ..< shape.outputCount).map { i in i % shape.outCp < shape.outC ? random() : 0 }
            var scratch = [Float](repeating: .nan, count: shape.positions * shape.kp)
            var directInput = [Float](repeating: .nan, count: shape.inputCount)
            kernels.conv2DBackwardWeights(shape, input, dOutput, &directPacked, &directBias)
            kernels.conv2DBackwardInput(shape, dOutput, packedT, &scratch, &directInput)

            var winogradScratch = [Float](repeating: .nan, count: winograd.backwardScratchFloats)
            var dInput = [Float](repeating: .nan, count: shape.inputCount)
            kernels.winogradBackward(winograd, input, dOutput, uT, &winogradScratch, &dU, &bias, &dInput)
            let scale = directInput.map(abs).max()!
            for i in 0 ..< dInput.count {
                XCTAssertFalse(dInput[i].isNaN, "input gradient \(i) not written")
                worstInput = max(worstInput, abs(dInput[i] - directInput[i]) / scale)
            }
        }
        var direct = [Float](repeating: 0, count: torchCount)
        shape.unpackAdding(packed: directPacked, realInC: realInC, into: &direct)
        var weights = [Float](repeating: 0, count: torchCount)
        winograd.addWeightGradient(dU, into: &weights)
        let weightScale = direct.map(abs).max()!
        let worstWeights = zip(weights, direct).map { abs($0 - $1) }.max()! / weightScale
        let biasScale = directBias.map(abs).max()!
        let worstBias = zip(bias, directBias).map { abs($0 - $1) }.max()! / biasScale
        return (worstInput, worstWeights, worstBias)
    }

    func testBackwardMatchesDirectBackward() {
        ISA.forEachAvailable { _ in checkBackward() }
    }

    func checkBackward() {
        for (shape, realInC, alpha) in [
            (Conv2DShape(inH: 17, inW: 17, inC: 32, outC: 32, kernel: 7), 32, 8),
            (Conv2DShape(inH: 17, inW: 17, inC: 40, outC: 36, kernel: 7), 36, 8),
            (Conv2DShape(inH: 9, inW: 14, inC: 8, outC: 3, kernel: 3), 5, 8),
            (Conv2DShape(inH: 12, inW: 10, inC: 16, outC: 17, kernel: 4), 16, 8),
            (Conv2DShape(inH: 20, inW: 13, inC: 24, outC: 40, kernel: 5), 21, 8),
            (Conv2DShape(inH: 6, inW: 9, inC: 48, outC: 9, kernel: 2), 48, 8),
            (Conv2DShape(inH: 23, inW: 18, inC: 40, outC: 36, kernel: 6), 33, 8),
            (Conv2DShape(inH: 13, inW: 13, inC: 24, outC: 40, kernel: 3), 22, 4),
            (Conv2DShape(inH: 9, inW: 14, inC: 8, outC: 3, kernel: 3), 5, 4),
            (Conv2DShape(inH: 11, inW: 7, inC: 8, outC: 17, kernel: 2), 8, 4),
            (Conv2DShape(inH: 16, inW: 16, inC: 16, outC: 24, kernel: 3), 16, 6),
            (Conv2DShape(inH: 12, inW: 10, inC: 16, outC: 17, kernel: 4), 16, 6),
            (Conv2DShape(inH: 10, inW: 11, inC: 24, outC: 20, kernel: 5), 21, 6),
        ] {
            let errors = backwardErrors(shape, realInC: realInC, alpha: alpha)
            XCTAssertLessThan(errors.input, 2e-5, "input gradient, tiles of \(alpha), \(shape)")
            XCTAssertLessThan(errors.weights, 2e-5, "weight gradient, tiles of \(alpha), \(shape)")
            XCTAssertLessThan(errors.bias, 1e-6, "bias gradient, tiles of \(alpha), \(shape)")
        }
    }

    func testSupportsOnlyStrideOneSquareKernelsInChannelVectors() {
        XCTAssertTrue(WinogradConv2D.supports(Conv2DShape(inH: 17, inW: 17, inC: 40, outC: 36, kernel: 7)))
        XCTAssertFalse(WinogradConv2D.supports(Conv2DShape(inH: 42, inW: 42, inC: 1, outC: 36, kernel: 9)))
        XCTAssertFalse(WinogradConv2D.supports(Conv2DShape(inH: 42, inW: 42, inC: 8, outC: 36, kernel: 9)))
        XCTAssertFalse(
            WinogradConv2D.supports(
                Conv2DShape(inH: 17, inW: 17, inC: 8, outC: 8, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2)))
        XCTAssertFalse(
            WinogradConv2D.supports(Conv2DShape(inH: 17, inW: 17, inC: 8, outC: 8, kernelH: 3, kernelW: 5)))
        // A tile holds at most alpha - 1 taps.
        XCTAssertTrue(WinogradConv2D.supports(Conv2DShape(inH: 13, inW: 13, inC: 8, outC: 8, kernel: 3), alpha: 4))
        XCTAssertFalse(WinogradConv2D.supports(Conv2DShape(inH: 13, inW: 13, inC: 8, outC: 8, kernel: 4), alpha: 4))
        XCTAssertTrue(WinogradConv2D.supports(Conv2DShape(inH: 13, inW: 13, inC: 8, outC: 8, kernel: 5), alpha: 6))
        XCTAssertFalse(WinogradConv2D.supports(Conv2DShape(inH: 13, inW: 13, inC: 8, outC: 8, kernel: 6), alpha: 6))
        XCTAssertFalse(WinogradConv2D.supports(Conv2DShape(inH: 13, inW: 13, inC: 8, outC: 8, kernel: 3), alpha: 5))
    }
}
