import AllocationCounter
import Foundation
import STNData
import STNKernelInterface
import STNKernelSelection
import STNLibHDF5
import STNModel
import STNTestSupport
import STNTrainer
import XCTest

@testable import STNEngine

/// PyTorch-default weights with the localisation net's last layer perturbed, so theta
/// differs per image (the identity start would hide transformer bugs).
func sampleWeights(_ architecture: Architecture, seed: UInt64 = 3) throws -> ModelWeights {
    var weights = Initializer.pytorchDefault(architecture, seed: seed)
    var random = PRNG(seed: seed, stream: 99)
    for layer in architecture.thetaLayers {
        let count = weights[layer + ".weight"].count
        try weights.set(layer + ".weight", (0 ..< count).map { _ in (random.nextUnitFloat() - 0.5) * 0.2 })
        try weights.set(layer + ".bias", [1, 0, 0, 0, 1, 0].map { $0 + (random.nextUnitFloat() - 0.5) * 0.2 })
    }
    return weights
}

/// The fixed RTS test set's first `count` images (MNIST t10k, seed 1).
func rtsTestImages(_ count: Int) throws -> (images: IDXImages, labels: [UInt8]) {
    let directory = try FixturePaths.mnistDirectory()
    let test = try MNIST.load(split: .test, directory: directory)
    return (RTSDistortion(seed: 1).distort(test.images.prefix(count), threads: 2), Array(test.labels.prefix(count)))
}

final class EngineTests: XCTestCase {
    /// Engine against the trainer's forward pass on the same weights: 1,000 RTS test images.
    func checkAgainstTrainer(_ architecture: Architecture) throws {
        let weights = try sampleWeights(architecture)
        let engine = try Engine(weights: weights, threads: 2)
        let network = try Network(architecture: architecture, maxBatch: 1000, threads: 2)
        network.load(weights)
        let (images, _) = try rtsTestImages(1000)
        let floats = images.pixels.map { Float($0) / 255 }
        var logProbs = [Float](repeating: 0, count: 1000 * 10)
        var thetas = [Float](repeating: 0, count: 1000 * 6)
        _ = network.evaluate(images: floats, labels: nil, count: 1000, logProbs: &logProbs, thetas: &thetas)

        var results = [InferenceResult](repeating: InferenceResult(), count: 1000)
        images.pixels.withUnsafeBufferPointer {
            engine.inferBatch(pixels: $0.baseAddress!, count: 1000, results: &results, threads: 2)
        }
        var worstLogProb: Float = 0
        var worstTheta: Float = 0
        var sameDigit = 0
        for i in 0 ..< 1000 {
            let theirs = Array(logProbs[i * 10 ..< i * 10 + 10])
            worstLogProb = max(worstLogProb, maxAbsDifference(results[i].logProbabilities, theirs))
            if results[i].digit == theirs.indices.max(by: { theirs[$0] < theirs[$1] })! { sameDigit += 1 }
            if architecture.hasTransformer {
                worstTheta = max(
                    worstTheta, maxAbsDifference(results[i].thetaValues, Array(thetas[i * 6 ..< i * 6 + 6])))
            }
        }
        XCTAssertLessThanOrEqual(worstLogProb, 1e-4)
        XCTAssertLessThanOrEqual(worstTheta, 1e-4)
        XCTAssertEqual(sameDigit, 1000)
        XCTAssertEqual(results[0].hasTheta, architecture.hasTransformer)

        // Intermediate images on the first 50 frames.
        var worstImage: Float = 0
        var result = InferenceResult()
        for i in 0 ..< 50 {
            let acts = floats.withUnsafeBufferPointer { network.activations(image: $0.baseAddress! + i * 1764) }
            floats.withUnsafeBufferPointer { engine.infer(frame: $0.baseAddress! + i * 1764, into: &result) }
            if architecture.hasTransformer {
                worstImage = max(worstImage, maxAbsDifference(Array(engine.lastDownsampled), acts["downsampled"]!))
                worstImage = max(worstImage, maxAbsDifference(Array(engine.lastSampled), acts["sampled"]!))
            }
            worstLogProb = max(worstLogProb, maxAbsDifference(result.logProbabilities, acts["log_probs"]!))
        }
        XCTAssertLessThanOrEqual(worstImage, 1e-4, "\(ISA.active)")
        XCTAssertLessThanOrEqual(worstLogProb, 1e-4, "\(ISA.active)")
        print(
            "\(architecture.name) engine vs trainer [\(ISA.active)]: max |log-prob diff| \(worstLogProb), theta \(worstTheta), images \(worstImage), same digit \(sameDigit)/1000"
        )
    }

    func testSTCNNMatchesTheTrainer() throws { try ISA.forEachAvailable { _ in try checkAgainstTrainer(.stCNN) } }
    func testCNNMatchesTheTrainer() throws { try ISA.forEachAvailable { _ in try checkAgainstTrainer(.cnn) } }

    /// Engine against PyTorch (Tests/Fixtures/golden-*.h5 from tools/fixtures/make_golden.py), with
    /// each ISA's kernels this machine supports.
    func testMatchesPyTorchFixtures() throws { try ISA.forEachAvailable { _ in try checkPyTorchFixtures() } }

    func checkPyTorchFixtures() throws {
        for name in ["cnn", "st-cnn"] {
            let file = try HDF5File(
                path: FixturePaths.fixture("golden-\(name).h5"), mode: .read)
            let architecture = Architecture.preset(named: name)!
            var tensors: [String: [Float]] = [:]
            for spec in architecture.parameters {
                tensors[spec.name] = try file.readFloats("params/" + spec.name).values
            }
            let engine = try Engine(weights: try ModelWeights(architecture: architecture, tensors: tensors), threads: 1)
            let input = try file.readFloats("input").values
            let logProbs = try file.readFloats("act/log_probs").values
            var result = InferenceResult()
            for i in 0 ..< 8 {
                input.withUnsafeBufferPointer { engine.infer(frame: $0.baseAddress! + i * 1764, into: &result) }
                XCTAssertLessThanOrEqual(
                    maxAbsDifference(result.logProbabilities, Array(logProbs[i * 10 ..< i * 10 + 10])), 1e-4,
                    "\(name) [\(ISA.active)]")
                if architecture.hasTransformer {
                    let theta = try file.readFloats("act/theta").values
                    let sampled = try file.readFloats("act/sampled").values
                    let downsampled = try file.readFloats("act/downsampled").values
                    XCTAssertLessThanOrEqual(
                        maxAbsDifference(result.thetaValues, Array(theta[i * 6 ..< i * 6 + 6])), 1e-4)
                    XCTAssertLessThanOrEqual(
                        maxAbsDifference(Array(engine.lastSampled), Array(sampled[i * 1764 ..< (i + 1) * 1764])), 1e-4)
                    XCTAssertLessThanOrEqual(
                        maxAbsDifference(Array(engine.lastDownsampled), Array(downsampled[i * 441 ..< (i + 1) * 441])),
                        1e-4)
                }
            }
        }
    }

    /// A tutorial model trained in PyTorch and dumped bare with h5py (no attributes: it is
    /// recognised by its parameter names) against PyTorch's own answers on 64 digits.
    func testRunsAPyTorchTrainedTutorialModelDumpedBare() throws {
        let engine = try Engine(weightsAt: FixturePaths.fixture("tutorial-pytorch.h5"), threads: 1)
        XCTAssertEqual(engine.architecture, .pytorchTutorial)
        let expected = try HDF5File(path: FixturePaths.fixture("tutorial-pytorch-expected.h5"), mode: .read)
        let input = try expected.readFloats("input").values
        let logProbs = try expected.readFloats("log_probs").values
        let theta = try expected.readFloats("theta").values
        let transformed = try expected.readFloats("transformed").values
        var worst: (logProbs: Float, theta: Float, image: Float) = (0, 0, 0)
        var result = InferenceResult()
        for i in 0 ..< 64 {
            input.withUnsafeBufferPointer { engine.infer(frame: $0.baseAddress! + i * 784, into: &result) }
            worst.logProbs = max(
                worst.logProbs, maxAbsDifference(result.logProbabilities, Array(logProbs[i * 10 ..< i * 10 + 10])))
            worst.theta = max(worst.theta, maxAbsDifference(result.thetaValues, Array(theta[i * 6 ..< i * 6 + 6])))
            worst.image = max(
                worst.image, maxAbsDifference(Array(engine.lastSampled), Array(transformed[i * 784 ..< (i + 1) * 784])))
        }
        XCTAssertLessThanOrEqual(worst.logProbs, 1e-4)
        XCTAssertLessThanOrEqual(worst.theta, 1e-4)
        XCTAssertLessThanOrEqual(worst.image, 1e-4)
        print("PyTorch-trained tutorial model: worst |diff| log-probs \(worst.logProbs), theta \(worst.theta)")
    }

    /// The tutorial preset's golden fixture (fixed weights, 8 digits) through the engine.
    func testTutorialMatchesPyTorchGolden() throws { try ISA.forEachAvailable { _ in try checkTutorialGolden() } }

    func checkTutorialGolden() throws {
        let file = try HDF5File(path: FixturePaths.fixture("golden-tutorial.h5"), mode: .read)
        let architecture = Architecture.pytorchTutorial
        var tensors: [String: [Float]] = [:]
        for spec in architecture.parameters { tensors[spec.name] = try file.readFloats("params/" + spec.name).values }
        let engine = try Engine(weights: try ModelWeights(architecture: architecture, tensors: tensors), threads: 1)
        let input = try file.readFloats("input").values
        let logProbs = try file.readFloats("act/log_probs").values
        let theta = try file.readFloats("act/theta").values
        var result = InferenceResult()
        for i in 0 ..< 8 {
            input.withUnsafeBufferPointer { engine.infer(frame: $0.baseAddress! + i * 784, into: &result) }
            XCTAssertLessThanOrEqual(
                maxAbsDifference(result.logProbabilities, Array(logProbs[i * 10 ..< i * 10 + 10])), 1e-4,
                "\(ISA.active)")
            XCTAssertLessThanOrEqual(
                maxAbsDifference(result.thetaValues, Array(theta[i * 6 ..< i * 6 + 6])), 1e-4, "\(ISA.active)")
        }
    }

    /// After warm-up, 1,000 frames perform zero heap allocations (malloc interposed by the
    /// AllocationCounter test target), with each ISA's kernels: choosing them allocates nothing.
    func testNoHeapAllocationsPerFrame() throws {
        guard stn_allocations_count() != UInt64.max else { throw XCTSkip("allocation counting needs glibc") }
        try ISA.forEachAvailable { _ in try checkNoHeapAllocationsPerFrame() }
    }

    func checkNoHeapAllocationsPerFrame() throws {
        for architecture in [Architecture.stCNN, .cnn, .pytorchTutorial] {
            let engine = try Engine(weights: try sampleWeights(architecture), threads: 1)
            let size = engine.frameCount
            let frames = (0 ..< 10 * size).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }
            var result = InferenceResult()
            var times = [UInt64](repeating: 0, count: engine.stepNames.count)
            frames.withUnsafeBufferPointer { buffer in
                times.withUnsafeMutableBufferPointer { times in
                    for i in 0 ..< 10 { engine.infer(pixels: buffer.baseAddress! + i * size, into: &result) }
                    stn_allocations_reset()
                    for i in 0 ..< 1000 { engine.infer(pixels: buffer.baseAddress! + (i % 10) * size, into: &result) }
                    for i in 0 ..< 100 {
                        engine.infer(
                            pixels: buffer.baseAddress! + (i % 10) * size, into: &result, stepTimes: times.baseAddress!)
                    }
                }
            }
            let count = stn_allocations_count()
            XCTAssertEqual(count, 0, "\(architecture.name) [\(ISA.active)]: \(count) heap allocations in 1,100 frames")
            // The counter does see allocations (so a zero above means something).
            stn_allocations_reset()
            let array = [Float](repeating: 1, count: Int(result.probability * 0) + 1000)
            XCTAssertGreaterThan(stn_allocations_count(), 0)
            XCTAssertEqual(array.count, 1000)
        }
    }

    func testWeightFileForAnotherInputSizeIsRejectedAtLoad() throws {
        let path = NSTemporaryDirectory() + "stn-engine-\(UUID().uuidString).h5"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try WeightFile(weights: try sampleWeights(.cnn), attributes: [:]).write(to: path) {
            try $0.setAttribute("input_size", .int(28))
        }
        XCTAssertThrowsError(try Engine(weightsAt: path)) { error in
            XCTAssertTrue("\(error)".contains("input_size"), "\(error)")
            XCTAssertTrue("\(error)".hasPrefix(path), "\(error)")
        }
    }
}
