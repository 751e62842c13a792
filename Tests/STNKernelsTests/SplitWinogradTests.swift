import STNKernelInterface
import STNKernelSelection
import XCTest

/// The one-channel convolution by Winograd F(6x6, 3x3) over 3 x 3 pieces of its kernel,
/// against the direct convolution on random data: forward, and the weight and bias gradients
/// summed over two images; the seed's 9 x 9 layers, other kernel sizes, edge tiles, padded
/// output channels.
final class SplitWinogradTests: XCTestCase {
    var state: UInt64 = 11
    func random() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int(state >> 40) - (1 << 23)) / Float(1 << 23)
    }

    let shapes = [
        Conv2DShape(inH: 42, inW: 42, inC: 1, outC: 32, kernel: 9),  // the ST-CNN's first layer
        Conv2DShape(inH: 42, inW: 42, inC: 1, outC: 36, kernel: 9),  // the CNN's
        Conv2DShape(inH: 28, inW: 28, inC: 1, outC: 36, kernel: 9),  // the 28 x 28 Table 1 CNN's
        Conv2DShape(inH: 20, inW: 17, inC: 1, outC: 5, kernel: 6),
        Conv2DShape(inH: 31, inW: 26, inC: 1, outC: 16, kernel: 12),
        Conv2DShape(inH: 9, inW: 9, inC: 1, outC: 8, kernel: 9),  // one output
    ]

    func testForwardMatchesDirectConvolution() {
        ISA.forEachAvailable { _ in checkForward() }
    }

    func checkForward() {
        for shape in shapes {
            let split = SplitWinogradConv2D(shape: shape)
            let input = (0 ..< shape.inputCount).map { _ in random() }
            let torch = (0 ..< shape.outC * shape.kernelH * shape.kernelW).map { _ in random() }
            var bias = (0 ..< shape.outCp).map { _ in random() }
            for c in shape.outC ..< shape.outCp { bias[c] = 0 }
            var packed = [Float](repeating: 0, count: shape.k * shape.outCp)
            shape.pack(torch: torch, realInC: 1, into: &packed)
            var direct = [Float](repeating: 0, count: shape.outputCount)
            kernels.conv2DForward(shape, input, packed, bias, &direct)

            var u = [Float](repeating: .nan, count: split.weightFloats)
            kernels.splitWinogradTransformWeights(split, packed, &u)
            var scratch = [Float](repeating: .nan, count: split.scratchFloats)
            var out = [Float](repeating: .nan, count: shape.outputCount)
            kernels.splitWinogradForward(split, input, u, bias, &scratch, &out)
            let scale = direct.map(abs).max()!
            var worst: Float = 0
            for i in 0 ..< out.count {
                XCTAssertFalse(out[i].isNaN, "output \(i) not written, \(shape)")
                worst = max(worst, abs(out[i] - direct[i]))
            }
            XCTAssertLessThan(worst / scale, 2e-5, "\(shape)")
        }
    }

    func testBackwardMatchesDirectBackward() {
        ISA.forEachAvailable { _ in checkBackward() }
    }

    func checkBackward() {
        for shape in shapes {
            let split = SplitWinogradConv2D(shape: shape)
            let torchCount = shape.outC * shape.kernelH * shape.kernelW
            let torch = (0 ..< torchCount).map { _ in random() }
            var packed = [Float](repeating: 0, count: shape.k * shape.outCp)
            shape.pack(torch: torch, realInC: 1, into: &packed)
            var packedT = [Float](repeating: 0, count: shape.outCp * shape.kp)
            shape.transpose(packed: packed, into: &packedT)
            var u = [Float](repeating: .nan, count: split.weightFloats)
            kernels.splitWinogradTransformWeights(split, packed, &u)
            var uT = [Float](repeating: .nan, count: split.transposedWeightFloats)
            split.transposeWeights(u, into: &uT)

            var directPacked = [Float](repeating: 0, count: shape.k * shape.outCp)
            var directBias = [Float](repeating: 0, count: shape.outCp)
            var dU = [Float](repeating: 0, count: split.weightFloats)
            var bias = [Float](repeating: 0, count: shape.outCp)
            for _ in 0 ..< 2 {
                let input = (0 ..< shape.inputCount).map { _ in random() }
                let dOutput = (0 ..< shape.outputCount).map { i in i % shape.outCp < shape.outC ? random() : 0 }
                kernels.conv2DBackwardWeights(shape, input, dOutput, &directPacked, &directBias)
                var directScratch = [Float](repeating: .nan, count: shape.positions * shape.kp)
                var directInput = [Float](repeating: .nan, count: shape.inputCount)
                kernels.conv2DBackwardInput(shape, dOutput, packedT, &directScratch, &directInput)

                var scratch = [Float](repeating: .nan, count: split.backwardScratchFloats)
                var dInput = [Float](repeating: .nan, count: shape.inputCount)
                let dUBefore = dU
                kernels.splitWinogradBackward(split, input, dOutput, uT, &scratch, &dU, &bias, &dInput)
                let scale = directInput.map(abs).max()!
                var worst: Float = 0
                for i in 0 ..< dInput.count {
                    XCTAssertFalse(dInput[i].isNaN, "input gradient \(i) not written, \(shape)")
                    worst = max(worst, abs(dInput[i] - directInput[i]))
                }
                XCTAssertLessThan(worst / scale, 2e-5, "input gradient, \(shape)")
                // Without an input gradient (a first layer) the weight gradient is the same.
                var dUAlone = dUBefore
                var biasAlone = [Float](repeating: 0, count: shape.outCp)
                kernels.splitWinogradBackward(split, input, dOutput, uT, &scratch, &dUAlone, &biasAlone, nil)
                XCTAssertEqual(dUAlone, dU, "weight gradient without the input gradient, \(shape)")
            }
            var direct = [Float](repeating: 0, count: torchCount)
            shape.unpackAdding(packed: directPacked, realInC: 1, into: &direct)
            var weights = [Float](repeating: 0, count: torchCount)
            split.addWeightGradient(dU, into: &weights)
            let worst = zip(weights, direct).map { abs($0 - $1) }.max()! / direct.map(abs).max()!
            XCTAssertLessThan(worst, 2e-5, "weight gradient, \(shape)")
            XCTAssertEqual(bias, directBias, "bias gradient, \(shape)")
        }
    }

    func testSupportsOnlyOneChannelStrideOneKernelsInThrees() {
        XCTAssertTrue(SplitWinogradConv2D.supports(Conv2DShape(inH: 42, inW: 42, inC: 1, outC: 32, kernel: 9)))
        XCTAssertFalse(SplitWinogradConv2D.supports(Conv2DShape(inH: 42, inW: 42, inC: 8, outC: 32, kernel: 9)))
        XCTAssertFalse(SplitWinogradConv2D.supports(Conv2DShape(inH: 42, inW: 42, inC: 1, outC: 32, kernel: 7)))
        XCTAssertFalse(SplitWinogradConv2D.supports(Conv2DShape(inH: 42, inW: 42, inC: 1, outC: 32, kernel: 3)))
        XCTAssertFalse(
            SplitWinogradConv2D.supports(
                Conv2DShape(inH: 42, inW: 42, inC: 1, outC: 32, kernelH: 9, kernelW: 9, strideH: 2, strideW: 2)))
    }
}
