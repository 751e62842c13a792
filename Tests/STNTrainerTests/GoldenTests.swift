import Foundation
import STNKernelInterface
import STNKernelSelection
import STNLibHDF5
import STNModel
import STNTestSupport
import XCTest

@testable import STNTrainer

/// Our trainer against PyTorch (tools/fixtures/make_golden.py): the seed's models with fixed
/// weights on 8 RTS images. Tolerances: activations 1e-5 and gradients 1e-4, relative to
/// each tensor's largest magnitude. Every case runs with each ISA's kernels this machine
/// supports (`ISA.forEachAvailable`; the ones it skips are printed).
final class GoldenTests: XCTestCase {
    static let activationTolerance = 1e-5
    static let gradientTolerance = 1e-4

    struct Fixture {
        let file: HDF5File
        let architecture: Architecture
        let weights: ModelWeights
        let input: [Float]
        let labels: [UInt8]
    }

    /// golden-NAME.h5 and its model (golden-tutorial.h5 is the pytorch-tutorial preset's).
    func fixture(_ name: String) throws -> Fixture {
        let file = try HDF5File(path: FixturePaths.fixtures.path + "/golden-\(name).h5", mode: .read)
        let architecture = Architecture.preset(named: name == "tutorial" ? "pytorch-tutorial" : name)!
        var tensors: [String: [Float]] = [:]
        for spec in architecture.parameters { tensors[spec.name] = try file.readFloats("params/" + spec.name).values }
        return Fixture(
            file: file, architecture: architecture,
            weights: try ModelWeights(architecture: architecture, tensors: tensors),
            input: try file.readFloats("input").values, labels: try file.readInts("labels").values.map { UInt8($0) })
    }

    func checkActivations(_ name: String) throws {
        let f = try fixture(name)
        let network = try Network(architecture: f.architecture, maxBatch: 8, threads: 1)
        network.load(f.weights)
        var worst: [String: Double] = [:]
        for i in 0 ..< 8 {
            let size = f.architecture.inputShape.count
            let acts = f.input.withUnsafeBufferPointer { network.activations(image: $0.baseAddress! + i * size) }
            for (key, ours) in acts {
                let path = "act/" + key
                guard f.file.hasDataset(path) else { continue }
                let all = try f.file.readFloats(path).values
                let per = all.count / 8
                let error = relativeError(ours, Array(all[i * per ..< (i + 1) * per]))
                worst[key] = max(worst[key] ?? 0, error)
            }
        }
        let expected = ["st-cnn": 20, "cnn": 8, "tutorial": 23][name]!
        XCTAssertGreaterThanOrEqual(worst.count, expected, "compared only \(worst.keys.sorted())")
        for (key, error) in worst.sorted(by: { $0.key < $1.key }) {
            XCTAssertLessThanOrEqual(
                error, Self.activationTolerance, "\(name) \(key) [\(ISA.active)]: relative error \(error)")
        }
        print(
            "\(name) activations [\(ISA.active)], worst relative error: \(worst.values.max() ?? 0) (\(worst.max { $0.value < $1.value }?.key ?? ""))"
        )
    }

    func checkGradients(_ name: String, threads: Int) throws {
        let f = try fixture(name)
        let network = try Network(architecture: f.architecture, maxBatch: 8, threads: threads)
        network.load(f.weights)
        // The fixtures are made with dropout off (PyTorch's masks cannot be reproduced).
        network.dropoutEnabled = false
        let (loss, _) = network.forwardBackward(images: f.input, labels: f.labels, count: 8)
        let expectedLoss = try f.file.readFloats("loss").values[0]
        XCTAssertEqual(loss, Double(expectedLoss), accuracy: 1e-5 * Double(abs(expectedLoss)), "\(ISA.active)")
        var worst = 0.0
        for spec in f.architecture.parameters {
            let theirs = try f.file.readFloats("grad/" + spec.name).values
            let ours = Array(network.gradients[network.layout.range(of: spec.name)!])
            let error = relativeError(ours, theirs)
            worst = max(worst, error)
            XCTAssertLessThanOrEqual(
                error, Self.gradientTolerance, "\(name) grad \(spec.name) [\(ISA.active)]: relative error \(error)")
        }
        print("\(name) gradients (\(threads) threads) [\(ISA.active)], worst relative error: \(worst)")
    }

    func testCNNActivationsMatchPyTorch() throws { try ISA.forEachAvailable { _ in try checkActivations("cnn") } }
    func testSTCNNActivationsMatchPyTorch() throws { try ISA.forEachAvailable { _ in try checkActivations("st-cnn") } }
    func testCNNGradientsMatchPyTorch() throws {
        try ISA.forEachAvailable { _ in try checkGradients("cnn", threads: 1) }
    }
    func testSTCNNGradientsMatchPyTorch() throws {
        try ISA.forEachAvailable { _ in try checkGradients("st-cnn", threads: 1) }
    }
    func testSTCNNGradientsMatchPyTorchWithTwoThreads() throws {
        try ISA.forEachAvailable { _ in try checkGradients("st-cnn", threads: 2) }
    }
    func testTutorialActivationsMatchPyTorch() throws {
        try ISA.forEachAvailable { _ in try checkActivations("tutorial") }
    }
    func testTutorialGradientsMatchPyTorch() throws {
        try ISA.forEachAvailable { _ in try checkGradients("tutorial", threads: 2) }
    }

    /// One seed-recipe SGD step and two momentum/weight-decay steps land where torch.optim.SGD does.
    func testOptimiserStepsMatchPyTorch() throws { try ISA.forEachAvailable { _ in try checkOptimiserSteps() } }

    func checkOptimiserSteps() throws {
        for name in ["cnn", "st-cnn"] {
            let f = try fixture(name)
            for (group, lr, momentum, decay, steps) in [
                ("after_step", 0.01, 0.0, 0.0, 1), ("momentum", 0.05, 0.9, 5e-4, 2),
            ] {
                let network = try Network(architecture: f.architecture, maxBatch: 8, threads: 2)
                network.load(f.weights)
                var sgd = SGD(momentum: momentum, weightDecay: decay)
                for _ in 0 ..< steps {
                    _ = network.forwardBackward(images: f.input, labels: f.labels, count: 8)
                    sgd.step(
                        parameters: &network.parameters, gradients: network.gradients,
                        segments: [(0 ..< network.layout.total, lr)])
                }
                for spec in f.architecture.parameters {
                    let theirs = try f.file.readFloats("\(group)/\(spec.name)").values
                    let ours = Array(network.parameters[network.layout.range(of: spec.name)!])
                    // Compare the update, not the parameters, so the tolerance means something.
                    let start = f.weights[spec.name]
                    let error = relativeError(zip(ours, start).map { $0 - $1 }, zip(theirs, start).map { $0 - $1 })
                    XCTAssertLessThanOrEqual(
                        error, 1e-3, "\(name) \(group) \(spec.name) [\(ISA.active)]: update differs by \(error)")
                }
            }
        }
    }

    /// The transformer's ops on random data, forward and backward, against PyTorch.
    func testTransformerOpsMatchPyTorch() throws { try ISA.forEachAvailable { _ in try checkTransformerOps() } }

    func checkTransformerOps() throws {
        let kernels = KernelTable.active
        let file = try HDF5File(path: FixturePaths.fixtures.path + "/golden-ops.h5", mode: .read)
        for (group, size) in [("interpolate", 42), ("interpolate_odd", 21)] {
            let input = try file.readFloats(group + "/input")
            let expected = try file.readFloats(group + "/output").values
            let n = input.shape[0]
            let half = size / 2
            var ours = [Float](repeating: 0, count: n * half * half)
            input.values.withUnsafeBufferPointer { x in
                ours.withUnsafeMutableBufferPointer { y in
                    for i in 0 ..< n {  // F.interpolate(scale_factor=0.5)
                        kernels.resize(
                            x.baseAddress! + i * size * size, size, size, 1, half, half, 2, 2, false,
                            y.baseAddress! + i * half * half)
                    }
                }
            }
            XCTAssertLessThanOrEqual(relativeError(ours, expected), 1e-6, "\(group) [\(ISA.active)]")
        }
        let theta = try file.readFloats("sample/theta").values
        let input = try file.readFloats("sample/input").values
        let upstream = try file.readFloats("sample/upstream").values
        let px = 42 * 42
        var grid = [Float](repeating: 0, count: 5 * px * 2)
        var output = [Float](repeating: 0, count: 5 * px)
        var dGrid = grid
        var dInput = output
        var dTheta = [Float](repeating: 0, count: 30)
        let affine = TransformGrid(kind: .affine, height: 42, width: 42, alignCorners: false)
        for i in 0 ..< 5 {
            theta.withUnsafeBufferPointer { t in
                grid.withUnsafeMutableBufferPointer { g in
                    kernels.transformGridForward(affine, t.baseAddress! + 6 * i, g.baseAddress! + i * px * 2)
                }
            }
            input.withUnsafeBufferPointer { x in
                grid.withUnsafeBufferPointer { g in
                    output.withUnsafeMutableBufferPointer { o in
                        kernels.sample(
                            x.baseAddress! + i * px, 42, 42, 1, g.baseAddress! + i * px * 2, px, SamplerOptions(),
                            o.baseAddress! + i * px)
                    }
                }
            }
            input.withUnsafeBufferPointer { x in
                grid.withUnsafeBufferPointer { g in
                    upstream.withUnsafeBufferPointer { u in
                        dGrid.withUnsafeMutableBufferPointer { dg in
                            dInput.withUnsafeMutableBufferPointer { di in
                                kernels.sampleBackward(
                                    x.baseAddress! + i * px, 42, 42, 1, g.baseAddress! + i * px * 2, px,
                                    SamplerOptions(), u.baseAddress! + i * px, dg.baseAddress! + i * px * 2,
                                    di.baseAddress! + i * px)
                            }
                        }
                    }
                }
            }
            theta.withUnsafeBufferPointer { t in
                dGrid.withUnsafeBufferPointer { dg in
                    dTheta.withUnsafeMutableBufferPointer { dt in
                        kernels.transformGridBackward(
                            affine, t.baseAddress! + 6 * i, dg.baseAddress! + i * px * 2, dt.baseAddress! + 6 * i)
                    }
                }
            }
        }
        XCTAssertLessThanOrEqual(
            relativeError(grid, try file.readFloats("sample/grid").values), 1e-6, "grid [\(ISA.active)]")
        XCTAssertLessThanOrEqual(
            relativeError(output, try file.readFloats("sample/output").values), 1e-5, "sampled [\(ISA.active)]")
        XCTAssertLessThanOrEqual(
            relativeError(dInput, try file.readFloats("sample/grad_input").values), 1e-5, "grad input [\(ISA.active)]")
        // The bilinear gradient is discontinuous where a sample lands on a pixel row or
        // column; there the last bit of the coordinate picks the side, so compare only
        // points clear of those kinks, and theta's gradient only for transforms that avoid them.
        let expectedGrid = try file.readFloats("sample/grad_grid").values
        let expectedTheta = try file.readFloats("sample/grad_theta").values
        var compared = 0
        var thetaCases = 0
        for i in 0 ..< 5 {
            var clear = true
            for p in 0 ..< px {
                let ix = ((grid[(i * px + p) * 2] + 1) * 42 - 1) / 2
                let iy = ((grid[(i * px + p) * 2 + 1] + 1) * 42 - 1) / 2
                let nearKink = abs(ix - ix.rounded()) < 1e-3 || abs(iy - iy.rounded()) < 1e-3
                if nearKink {
                    clear = false
                    continue
                }
                for c in 0 ..< 2 {
                    let k = (i * px + p) * 2 + c
                    XCTAssertEqual(
                        dGrid[k], expectedGrid[k], accuracy: 1e-4 * max(1, abs(expectedGrid[k])),
                        "case \(i) point \(p) [\(ISA.active)]"
                    )
                    compared += 1
                }
            }
            if clear {
                thetaCases += 1
                XCTAssertLessThanOrEqual(
                    relativeError(Array(dTheta[6 * i ..< 6 * i + 6]), Array(expectedTheta[6 * i ..< 6 * i + 6])), 1e-4,
                    "grad theta, case \(i) [\(ISA.active)]")
            }
        }
        XCTAssertGreaterThan(compared, 5 * px)
        XCTAssertGreaterThanOrEqual(thetaCases, 2)
        // At the identity (the localisation net's initial transform) every sample sits on a
        // kink; our coordinates follow PyTorch's float operations, so even there we agree.
        XCTAssertLessThanOrEqual(
            relativeError(Array(dGrid[0 ..< px * 2]), Array(expectedGrid[0 ..< px * 2])), 1e-5, "grad grid at identity")
        XCTAssertLessThanOrEqual(
            relativeError(Array(dTheta[0 ..< 6]), Array(expectedTheta[0 ..< 6])), 1e-4, "grad theta at identity")
    }
}
