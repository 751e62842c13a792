import STNData
import STNEngine
import STNKernelInterface
import STNKernelSelection
import STNModel
import XCTest

@testable import STNTrainer

/// A property of the plan: for random valid graphs, the engine's forward pass (aliases,
/// buffers shared by lifetime, fused steps) equals the trainer's (every tensor stored).
final class RandomGraphTests: XCTestCase {
    /// A random valid description: random input, a chain of shape-preserving or shrinking
    /// layers with an occasional transformer over the current map, then a classifier head.
    static func randomDescription(_ random: inout PRNG, index: Int) -> String {
        func pick(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        var channels = 1 + pick(3)
        var height = 6 + pick(10)
        var width = 6 + pick(10)
        var lines = ["stn-model 1 name=random-\(index)", "input x0 \(channels)x\(height)x\(width)"]
        var current = "x0"
        var count = 0
        func add(_ text: String) {
            count += 1
            let name = "t\(count)"
            lines.append(text.replacingOccurrences(of: "OUT", with: name).replacingOccurrences(of: "IN", with: current))
            current = name
        }
        if pick(2) == 0 {
            let mean = (0 ..< channels).map { _ in "0.\(pick(5))" }.joined(separator: ",")
            add("normalize OUT IN mean=\(mean) std=0.5")
        }
        for _ in 0 ..< 2 + pick(4) {
            switch pick(7) {
            case 0, 1:
                let kernel = 1 + pick(3)
                let stride = 1 + pick(2)
                let padding = pick(2)
                guard height + 2 * padding >= kernel, width + 2 * padding >= kernel else { continue }
                channels = 1 + pick(12)
                add("conv OUT IN out=\(channels) kernel=\(kernel) stride=\(stride) padding=\(padding)")
                height = (height + 2 * padding - kernel) / stride + 1
                width = (width + 2 * padding - kernel) / stride + 1
            case 2:
                guard height >= 4, width >= 4 else { continue }
                add(pick(2) == 0 ? "maxpool OUT IN kernel=2" : "avgpool OUT IN kernel=2")
                height /= 2
                width /= 2
                if pick(2) == 0 { add("relu OUT IN") }
            case 3:
                add("relu OUT IN")
            case 4:
                add(pick(2) == 0 ? "dropout OUT IN p=0.3" : "dropout2d OUT IN p=0.3")
            case 5:
                height = 3 + pick(8)
                width = 3 + pick(8)
                add("resize OUT IN size=\(height)x\(width) align_corners=\(pick(2))")
            default:
                // A transformer over the current map: theta from the map itself.
                let source = current
                add("flatten OUT IN")
                add("linear OUT IN out=6")
                let theta = current
                let outH = 3 + pick(8)
                let outW = 3 + pick(8)
                let align = pick(2)
                add("affine_grid OUT IN size=\(outH)x\(outW) align_corners=\(align)")
                let grid = current
                current = source
                let mode = pick(2) == 0 ? "bilinear" : "nearest"
                let padding = pick(2) == 0 ? "zeros" : "border"
                add("grid_sample OUT IN,\(grid) mode=\(mode) padding=\(padding) align_corners=\(align)")
                _ = theta
                height = outH
                width = outW
            }
        }
        add("flatten OUT IN")
        add("linear OUT IN out=\(5 + pick(20))")
        if pick(2) == 0 { add("relu OUT IN") }
        add("linear OUT IN out=\(2 + pick(9))")
        switch pick(3) {
        case 0: add("log_softmax OUT IN")
        case 1: add("softmax OUT IN")
        default: break
        }
        return lines.joined(separator: "\n")
    }

    func testEngineForwardEqualsTrainerForwardOnRandomGraphs() throws {
        try ISA.forEachAvailable { _ in try checkRandomGraphs() }
    }

    func checkRandomGraphs() throws {
        var random = PRNG(seed: 2024)
        var checked = 0
        for index in 0 ..< 20 {
            let text = Self.randomDescription(&random, index: index)
            let architecture: Architecture
            do {
                architecture = try Architecture(parsing: text)
            } catch {
                return XCTFail("generated an invalid graph: \(error)\n\(text)")
            }
            var weights = Initializer.pytorchDefault(architecture, seed: UInt64(index))
            for layer in architecture.thetaLayers {
                let n = weights[layer + ".weight"].count
                try weights.set(layer + ".weight", (0 ..< n).map { _ in (random.nextUnitFloat() - 0.5) * 0.4 })
            }
            let engine = try Engine(weights: weights, threads: 1)
            let network = try Network(architecture: architecture, maxBatch: 3, threads: 1)
            network.load(weights)
            let size = architecture.inputShape.count
            let images = (0 ..< 3 * size).map { _ in random.nextUnitFloat() }
            let classes = architecture.classCount
            var theirs = [Float](repeating: 0, count: 3 * classes)
            _ = network.evaluate(images: images, labels: nil, count: 3, logProbs: &theirs, thetas: nil)
            var result = InferenceResult()
            for i in 0 ..< 3 {
                images.withUnsafeBufferPointer { engine.infer(frame: $0.baseAddress! + i * size, into: &result) }
                let expected = Array(theirs[i * classes ..< (i + 1) * classes])
                XCTAssertEqual(
                    result.logProbabilities, expected, "graph \(index), image \(i) [\(ISA.active)]:\n\(text)")
            }
            checked += 1
        }
        XCTAssertEqual(checked, 20)
    }
}
