import STNData
import STNEngine
import STNModel
import XCTest

@testable import STNTrainer

final class InferenceTests: XCTestCase {
    /// A batch norm after a convolution is folded into the convolution's weights at load:
    /// the engine's answer equals the convolution alone with the fold computed here in Double.
    func testBatchNormIsFoldedIntoItsConvolution() throws {
        let withNorm = try Architecture(
            parsing: """
                stn-model 1 name=bn
                input x 2x6x7
                conv c x out=3 kernel=3 padding=1
                batchnorm c.bn c eps=0.001
                relu r c.bn
                flatten f r
                linear o f out=4
                """)
        let without = try Architecture(
            parsing: """
                stn-model 1 name=plain
                input x 2x6x7
                conv c x out=3 kernel=3 padding=1
                relu r c
                flatten f r
                linear o f out=4
                """)
        var random = PRNG(seed: 3)
        func values(_ n: Int, _ low: Float, _ high: Float) -> [Float] {
            (0 ..< n).map { _ in low + (high - low) * random.nextUnitFloat() }
        }
        var tensors: [String: [Float]] = [
            "c.weight": values(54, -0.5, 0.5), "c.bias": values(3, -0.2, 0.2), "o.weight": values(4 * 126, -0.3, 0.3),
            "o.bias": values(4, -0.1, 0.1),
        ]
        let gamma = values(3, 0.5, 1.5)
        let beta = values(3, -0.3, 0.3)
        let mean = values(3, -0.2, 0.2)
        let variance = values(3, 0.2, 2)
        var normed = tensors
        normed["c.bn.weight"] = gamma
        normed["c.bn.bias"] = beta
        normed["c.bn.running_mean"] = mean
        normed["c.bn.running_var"] = variance
        for o in 0 ..< 3 {
            let factor = Double(gamma[o]) / (Double(variance[o]) + 0.001).squareRoot()
            for k in 0 ..< 18 {
                tensors["c.weight"]![o * 18 + k] = Float(Double(tensors["c.weight"]![o * 18 + k]) * factor)
            }
            tensors["c.bias"]![o] = Float((Double(tensors["c.bias"]![o]) - Double(mean[o])) * factor + Double(beta[o]))
        }
        let folded = try Engine(weights: ModelWeights(architecture: withNorm, tensors: normed), threads: 1)
        let reference = try Engine(weights: ModelWeights(architecture: without, tensors: tensors), threads: 1)
        let frame = values(84, 0, 1)
        var a = InferenceResult()
        var b = InferenceResult()
        frame.withUnsafeBufferPointer {
            folded.infer(frame: $0.baseAddress!, into: &a)
            reference.infer(frame: $0.baseAddress!, into: &b)
        }
        for i in 0 ..< 4 { XCTAssertEqual(a.logProbs[i], b.logProbs[i], accuracy: 1e-5) }
        // A training plan keeps the batch norm as its own step (it trains on the batch's
        // statistics), and evaluates with its running statistics: the folded engine's answer.
        let network = try Network(architecture: withNorm, maxBatch: 1, threads: 1)
        XCTAssertEqual(network.plan.batchNormSteps.count, 1)
        network.load(try ModelWeights(architecture: withNorm, tensors: normed))
        var logProbs = [Float](repeating: 0, count: 4)
        frame.withUnsafeBufferPointer { images in
            logProbs.withUnsafeMutableBufferPointer {
                _ = network.evaluate(
                    images: images.baseAddress!, labels: nil, count: 1, logProbs: $0.baseAddress!, thetas: nil)
            }
        }
        for i in 0 ..< 4 { XCTAssertEqual(logProbs[i], a.logProbs[i], accuracy: 1e-5) }
    }

    /// A localisation net's output is not to be trusted: huge, infinite or NaN parameters
    /// neither trap nor read outside the image, and the frame is reported as non-finite.
    func testAnyThetaIsSafeAndANonFiniteFrameIsFlagged() throws {
        let models = [
            Architecture.stCNN,
            try Architecture(
                parsing: """
                    stn-model 1 name=border-nearest
                    input x 1x9x9
                    flatten f x
                    linear theta f out=6
                    affine_grid g theta size=9x9 align_corners=1
                    grid_sample s x,g mode=nearest padding=border align_corners=1
                    grid_sample t x,g mode=bilinear padding=border
                    flatten u t
                    linear o u out=3
                    """),
        ]
        for architecture in models {
            let theta = architecture.thetaLayers.first!
            // Huge finite transforms (weights pass validation): every sampled value stays finite.
            for value: Float in [3e38, -3e38, 1e30, -1e29, 1e-30] {
                var weights = Initializer.pytorchDefault(architecture, seed: 1)
                try weights.set(theta + ".bias", [Float](repeating: value, count: 6))
                let engine = try Engine(weights: weights, threads: 1)
                var result = InferenceResult()
                let frame = [Float](repeating: 0.5, count: engine.frameCount)
                frame.withUnsafeBufferPointer { engine.infer(frame: $0.baseAddress!, into: &result) }
                XCTAssertTrue(engine.lastSampled.allSatisfy(\.isFinite), "\(architecture.name) theta \(value)")
                XCTAssertEqual(result.thetaValues, [Float](repeating: value, count: 6))
            }
            // NaN and infinite frames drive theta to NaN or infinity through the localisation net.
            let engine = try Engine(weights: Initializer.pytorchDefault(architecture, seed: 1), threads: 1)
            var result = InferenceResult()
            for value: Float in [.nan, .infinity, -.infinity] {
                let frame = [Float](repeating: value, count: engine.frameCount)
                frame.withUnsafeBufferPointer { engine.infer(frame: $0.baseAddress!, into: &result) }
                XCTAssertFalse(result.isFinite, "\(architecture.name): a \(value) frame was reported as finite")
            }
        }
    }
}
