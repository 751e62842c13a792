import STNData
import STNKernelInterface
import STNKernelSelection
import STNModel
import XCTest

@testable import STNTrainer

/// Finite-difference checks of every layer's backward pass: the analytic gradient of
/// L = sum(output * R), R random, against central differences (L(x + h) - L(x - h)) / 2h.
final class GradientCheckTests: XCTestCase {
    var random = PRNG(seed: 11)
    let kernels = KernelTable.active

    func randoms(_ n: Int, scale: Float = 1) -> [Float] {
        (0 ..< n).map { _ in (random.nextUnitFloat() * 2 - 1) * scale }
    }

    /// Compares analytic and numeric gradients for `count` randomly chosen coordinates.
    func check(
        _ name: String, values: inout [Float], analytic: [Float], samples: Int = 40, h: Float = 1e-2,
        tolerance: Double = 2e-2, loss: ([Float]) -> Double, file: StaticString = #filePath, line: UInt = #line
    ) {
        var worst = 0.0
        for _ in 0 ..< samples {
            let i = random.nextInt(below: values.count)
            let saved = values[i]
            values[i] = saved + h
            let up = loss(values)
            values[i] = saved - h
            let down = loss(values)
            values[i] = saved
            let numeric = (up - down) / Double(2 * h)
            let error = abs(numeric - Double(analytic[i])) / max(1, abs(numeric))
            worst = max(worst, error)
            XCTAssertLessThanOrEqual(
                error, tolerance, "\(name)[\(i)]: analytic \(analytic[i]), numeric \(numeric)", file: file, line: line)
        }
        print("\(name): worst relative error \(worst)")
    }

    func dot(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) } }

    func testConvolution() {
        let shape = Conv2DShape(inH: 7, inW: 6, inC: 8, outC: 5, kernel: 3)
        var input = randoms(shape.inputCount)
        var torchW = randoms(5 * 8 * 9, scale: 0.5)
        var bias = randoms(shape.outCp)
        for c in 5 ..< shape.outCp { bias[c] = 0 }
        var r = randoms(shape.outputCount)
        for p in 0 ..< shape.positions { for c in 5 ..< shape.outCp { r[p * shape.outCp + c] = 0 } }
        func forward(_ x: [Float], _ w: [Float], _ b: [Float]) -> [Float] {
            var packed = [Float](repeating: 0, count: shape.k * shape.outCp)
            var out = [Float](repeating: 0, count: shape.outputCount)
            shape.pack(torch: w, realInC: 8, into: &packed)
            kernels.conv2DForward(shape, x, packed, b, &out)
            return out
        }
        var packed = [Float](repeating: 0, count: shape.k * shape.outCp)
        var packedT = [Float](repeating: 0, count: shape.outCp * shape.kp)
        shape.pack(torch: torchW, realInC: 8, into: &packed)
        shape.transpose(packed: packed, into: &packedT)
        var dPacked = [Float](repeating: 0, count: shape.k * shape.outCp)
        var dBias = [Float](repeating: 0, count: shape.outCp)
        kernels.conv2DBackwardWeights(shape, input, r, &dPacked, &dBias)
        var dW = [Float](repeating: 0, count: torchW.count)
        shape.unpackAdding(packed: dPacked, realInC: 8, into: &dW)
        var scratch = [Float](repeating: 0, count: shape.positions * shape.kp)
        var dInput = [Float](repeating: 0, count: shape.inputCount)
        kernels.conv2DBackwardInput(shape, r, packedT, &scratch, &dInput)
        let w0 = torchW
        let x0 = input
        let b0 = bias
        check("conv weight", values: &torchW, analytic: dW) { self.dot(forward(x0, $0, b0), r) }
        check("conv input", values: &input, analytic: dInput) { self.dot(forward($0, w0, b0), r) }
        check("conv bias", values: &bias, analytic: dBias, samples: 5) { self.dot(forward(x0, w0, $0), r) }
    }

    func testLinear() {
        let shape = LinearShape(inputs: 24, outputs: 11)
        let index: [Int?] = (0 ..< 24).map { $0 < 20 ? $0 : nil }
        var input = randoms(24)
        var torchW = randoms(11 * 20)
        for i in 20 ..< 24 { input[i] = 0 }
        let bias = randoms(shape.outputsP).enumerated().map { $0.offset < 11 ? $0.element : 0 }
        let r = randoms(shape.outputsP).enumerated().map { $0.offset < 11 ? $0.element : 0 }
        func forward(_ x: [Float], _ w: [Float]) -> [Float] {
            var p = [Float](repeating: 0, count: 24 * shape.outputsP)
            var t = [Float](repeating: 0, count: shape.outputsP * shape.inputsP)
            var out = [Float](repeating: 0, count: shape.outputsP)
            shape.pack(torch: w, realInputs: 20, inputIndex: index, into: &p, transposed: &t)
            kernels.linearForward(shape, x, p, bias, &out)
            return out
        }
        var p = [Float](repeating: 0, count: 24 * shape.outputsP)
        var t = [Float](repeating: 0, count: shape.outputsP * shape.inputsP)
        shape.pack(torch: torchW, realInputs: 20, inputIndex: index, into: &p, transposed: &t)
        var dP = [Float](repeating: 0, count: p.count)
        var dB = [Float](repeating: 0, count: shape.outputsP)
        var dX = [Float](repeating: 0, count: shape.inputsP)
        kernels.linearBackwardWeights(shape, input, r, &dP, &dB)
        kernels.linearBackwardInput(shape, r, t, &dX)
        var dW = [Float](repeating: 0, count: torchW.count)
        shape.unpackAdding(packed: dP, realInputs: 20, inputIndex: index, into: &dW)
        let x0 = input
        let w0 = torchW
        check("linear weight", values: &torchW, analytic: dW) { self.dot(forward(x0, $0), r) }
        var realInput = Array(input[0 ..< 20])
        check("linear input", values: &realInput, analytic: Array(dX[0 ..< 20])) {
            self.dot(forward($0 + [0, 0, 0, 0], w0), r)
        }
    }

    func testPoolReLU() {
        let shape = PoolReLUShape(inH: 9, inW: 8, channels: 8)
        // Distinct values a grid apart, so a small step never changes which input wins.
        var order = Array(0 ..< shape.inputCount)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, random.nextInt(below: i + 1)) }
        var input = order.map { Float($0) * 0.1 - Float(shape.inputCount) * 0.04 }
        let r = randoms(shape.outputCount)
        var out = [Float](repeating: 0, count: shape.outputCount)
        var arg = [Int32](repeating: 0, count: shape.outputCount)
        kernels.poolReLUForward(shape, input, &out, &arg)
        var dX = [Float](repeating: 0, count: shape.inputCount)
        kernels.poolReLUBackward(shape, r, out, arg, &dX)
        check("pool+relu input", values: &input, analytic: dX, samples: 60, h: 1e-3) { x in
            var o = [Float](repeating: 0, count: shape.outputCount)
            kernels.poolReLUForward(shape, x, &o, nil)
            return self.dot(o, r)
        }
    }

    func testSamplerAndGridGradientsReachThetaAndInput() {
        let side = 12
        let n = side * side
        var image = randoms(n).map { abs($0) }
        var theta: [Float] = [0.83, -0.21, 0.071, 0.17, 1.13, -0.093]
        let r = randoms(n)
        let affine = TransformGrid(kind: .affine, height: side, width: side, alignCorners: false)
        func loss(_ x: [Float], _ t: [Float]) -> Double {
            var grid = [Float](repeating: 0, count: 2 * n)
            var out = [Float](repeating: 0, count: n)
            kernels.transformGridForward(affine, t, &grid)
            kernels.sample(x, side, side, 1, grid, n, SamplerOptions(), &out)
            return dot(out, r)
        }
        var grid = [Float](repeating: 0, count: 2 * n)
        kernels.transformGridForward(affine, theta, &grid)
        var dGrid = [Float](repeating: 0, count: 2 * n)
        var dInput = [Float](repeating: 0, count: n)
        var dTheta = [Float](repeating: 0, count: 6)
        kernels.sampleBackward(image, side, side, 1, grid, n, SamplerOptions(), r, &dGrid, &dInput)
        kernels.transformGridBackward(affine, theta, dGrid, &dTheta)
        let image0 = image
        let theta0 = theta
        check("sampler input", values: &image, analytic: dInput) { loss($0, theta0) }
        // Small steps: no sample may cross a pixel boundary (where the derivative jumps).
        check("grid theta", values: &theta, analytic: dTheta, samples: 12, h: 2e-4, tolerance: 5e-2) {
            loss(image0, $0)
        }
    }

    func testLogSoftmaxNLL() {
        var logits = randoms(10, scale: 3)
        var logProbs = [Float](repeating: 0, count: 10)
        var dLogits = [Float](repeating: 0, count: 10)
        LogSoftmax.forward(logits, count: 10, into: &logProbs)
        LogSoftmax.backward(logProbs: logProbs, count: 10, label: 4, scale: 1, dLogits: &dLogits)
        XCTAssertEqual(logProbs.map { Double(exp($0)) }.reduce(0, +), 1, accuracy: 1e-5)
        check("log-softmax nll", values: &logits, analytic: dLogits, samples: 10, h: 1e-2) { l in
            var lp = [Float](repeating: 0, count: 10)
            LogSoftmax.forward(l, count: 10, into: &lp)
            return -Double(lp[4])
        }
    }

    func testLabelSmoothedLossGradient() {
        // PyTorch's cross_entropy(label_smoothing: e): (1 - e) NLL(label) + e * mean over classes of -log p.
        var logits = randoms(10, scale: 3)
        var logProbs = [Float](repeating: 0, count: 10)
        var dLogits = [Float](repeating: 0, count: 10)
        LogSoftmax.forward(logits, count: 10, into: &logProbs)
        LogSoftmax.backward(logProbs: logProbs, count: 10, label: 7, scale: 1, smoothing: 0.1, dLogits: &dLogits)
        XCTAssertEqual(
            dLogits.map(Double.init).reduce(0, +), 0, accuracy: 1e-5, "softmax and the smoothed target both sum to 1")
        check("label-smoothed loss", values: &logits, analytic: dLogits, samples: 10, h: 1e-2) { l in
            var lp = [Float](repeating: 0, count: 10)
            LogSoftmax.forward(l, count: 10, into: &lp)
            return -0.9 * Double(lp[7]) - 0.1 * lp.map(Double.init).reduce(0, +) / 10
        }
    }

    /// The whole ST-CNN: d loss / d parameter for classifier parameters, through every layer
    /// behind them. (The localisation net's parameters are checked against PyTorch in
    /// GoldenTests and layer by layer above: through the sampler, any finite step moves
    /// dozens of the 1,764 samples across pixel boundaries, where the bilinear slope jumps,
    /// so a whole-network difference quotient measures an average of slopes.)
    func testWholeNetworkGradient() throws {
        let architecture = Architecture.stCNN
        var weights = Initializer.pytorchDefault(architecture, seed: 5)
        try weights.set("localisation_net.8.weight", randoms(120, scale: 0.05))
        let network = try Network(architecture: architecture, maxBatch: 4, threads: 1)
        network.load(weights)
        // Smooth images (blurred noise) keep the bilinear sampler's kinks gentle.
        var images = [Float](repeating: 0, count: 4 * 1764)
        for i in images.indices {
            images[i] = 0.5 + 0.5 * sin(Float(i % 42) * 0.3 + Float(i / 42) * 0.2 + Float(i / 1764))
        }
        let labels: [UInt8] = [3, 1, 4, 1]
        _ = network.forwardBackward(images: images, labels: labels, count: 4)
        let analytic = network.gradients
        for name in [
            "convs.0.weight", "convs.0.bias", "convs.3.weight", "classification.0.weight", "classification.2.bias",
        ] {
            let range = network.layout.range(of: name)!
            // The coordinates with the largest gradients: a finite difference of a float loss
            // resolves those well.
            let top = range.sorted { abs(analytic[$0]) > abs(analytic[$1]) }.prefix(3)
            for i in top {
                let saved = network.parameters[i]
                // Small steps: max-pool, ReLU and the sampler are piecewise linear, and a step
                // across a kink would measure the average of two one-sided slopes.
                let h: Float = 1e-3
                network.parameters[i] = saved + h
                let up =
                    network.evaluate(images: images, labels: labels, count: 4, logProbs: nil, thetas: nil).lossSum / 4
                network.parameters[i] = saved - h
                let down =
                    network.evaluate(images: images, labels: labels, count: 4, logProbs: nil, thetas: nil).lossSum / 4
                network.parameters[i] = saved
                let numeric = (up - down) / Double(2 * h)
                XCTAssertEqual(
                    Double(analytic[i]), numeric, accuracy: 0.05 * max(abs(numeric), 1e-3),
                    "\(name)[\(i - range.lowerBound)]")
            }
        }
    }
}
