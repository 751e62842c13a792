import Foundation
import STNEngine
import STNLibHDF5
import STNModel
import STNONNX
import STNTrainer
import XCTest

/// The users' models of `Tests/Fixtures/users` (tools/fixtures/users_models.py: GTSRB
/// traffic-sign STNs on RGB, a residual depthwise classifier, two transformers, every
/// activation, theta built from a rotation angle, a translation or an attention's scale and
/// shift, a model answering (log_probs, theta), a TPS rectifier with a classifier head), as
/// both of torch's exporters write them (the default one with its external
/// data file), converted onto the engine's fast layers: the engine's log-probabilities
/// match ONNX Runtime's and its theta PyTorch's, and the converted model trains.
final class UsersModelsTests: XCTestCase {
    static let folder = ONNXImporterTests.fixtures.appendingPathComponent("users")

    static let converting = [
        "gtsrb32-legacy20", "gtsrb32-dynamo", "gtsrb32-dynamo18", "gtsrb48-legacy20", "gtsrb48-dynamo",
        "residual_dw-legacy20", "residual_dw-dynamo", "two_stn-legacy20", "two_stn-dynamo",
        "tutorial_activations-legacy20", "tutorial_activations-dynamo", "rotation_stn-legacy20",
        "rotation_stn-dynamo", "translation_stn-legacy20", "translation_stn-dynamo", "attention_stn-legacy20",
        "attention_stn-dynamo", "two_outputs-legacy20", "two_outputs-dynamo", "tps_rectifier_head-legacy20",
        "tps_rectifier_head-dynamo", "tps_rectifier_head-dynamo18",
    ]

    func convert(_ name: String) throws -> (architecture: Architecture, weights: ModelWeights) {
        let bytes = [UInt8](try Data(contentsOf: Self.folder.appendingPathComponent("\(name).onnx")))
        return try ONNXImporter.convert(bytes: bytes, name: name, directory: Self.folder.path)
    }

    func testEngineMatchesONNXRuntimeAndPyTorch() throws {
        for name in Self.converting {
            let converted = try convert(name)
            XCTAssertFalse(converted.architecture.isGeneral, "\(name) left the fast layers")
            let engine = try Engine(weights: converted.weights, threads: 1)
            let file = try HDF5File(
                path: Self.folder.appendingPathComponent("\(name)-expected.h5").path, mode: .read)
            defer { try? file.close() }
            let input = try file.readFloats("input")
            let output = try file.readFloats("output")
            let theta = file.hasDataset("theta") ? try file.readFloats("theta") : nil
            let (images, channels) = (input.shape[0], input.shape[1])
            let pixels = input.shape[2] * input.shape[3]
            let classes = output.shape[1]
            var worst: (output: Float, theta: Float) = (0, 0)
            for n in 0 ..< images {
                // NCHW to the engine's height x width x channels frame.
                var frame = [Float](repeating: 0, count: channels * pixels)
                for c in 0 ..< channels {
                    for p in 0 ..< pixels { frame[p * channels + c] = input.values[(n * channels + c) * pixels + p] }
                }
                var result = InferenceResult()
                frame.withUnsafeBufferPointer { engine.infer(frame: $0.baseAddress!, into: &result) }
                XCTAssertEqual(result.classCount, classes, name)
                let logProbs = engine.lastLogProbabilities
                for k in 0 ..< classes {
                    worst.output = max(worst.output, abs(logProbs[k] - output.values[n * classes + k]))
                }
                if let theta {
                    XCTAssertEqual(result.thetaCount, 6, name)
                    for i in 0 ..< 6 { worst.theta = max(worst.theta, abs(result.theta[i] - theta.values[n * 6 + i])) }
                }
            }
            print("\(name): max |engine - ONNX Runtime| \(worst.output), |theta - PyTorch| \(worst.theta)")
            XCTAssertLessThan(worst.output, 1e-4, name)
            XCTAssertLessThan(worst.theta, 1e-4, name)
        }
    }

    /// Each converted model is a model stn-train can train: one step on two images gives a
    /// finite loss and a gradient for every parameter tensor.
    func testConvertedModelsTrain() throws {
        for name in Self.converting {
            let architecture = try convert(name).architecture
            let network = try Network(architecture: architecture, maxBatch: 2, threads: 1)
            network.load(try convert(name).weights)
            let images = (0 ..< 2 * network.imageCount).map { Float($0 % 251) / 251 }
            let labels: [UInt8] = [0, 1]
            let (loss, _) = network.forwardBackward(images: images, labels: labels, count: 2)
            XCTAssertTrue(loss.isFinite, name)
            for spec in architecture.parameters where ![.runningMean, .runningVariance, .buffer].contains(spec.role) {
                let range = network.layout.range(of: spec.name)!
                XCTAssertTrue(
                    network.gradients[range].contains { $0 != 0 }, "\(name): \(spec.name) has no gradient")
            }
        }
    }

    /// Every converted parameter name is one a weight file stores and loads back (the legacy
    /// exporter names tensors "/conv1/Conv_output_0").
    func testParameterNamesAreStorable() throws {
        for name in Self.converting + ["tps_rectifier-legacy20", "tps_rectifier-dynamo"] {
            for spec in try convert(name).architecture.parameters {
                XCTAssertTrue(ModelDescription.isStorableParameterName(spec.name), "\(name): \(spec.name)")
            }
        }
    }

    /// The TPS rectifier without a head answers with its rectified image: the engine's image
    /// matches ONNX Runtime's, and training such a model is refused in one line.
    func testRectifierAnswersWithItsImage() throws {
        for name in ["tps_rectifier-legacy20", "tps_rectifier-legacy17", "tps_rectifier-dynamo"] {
            let converted = try convert(name)
            let engine = try Engine(weights: converted.weights, threads: 1)
            XCTAssertTrue(engine.answersWithImage, name)
            let file = try HDF5File(path: Self.folder.appendingPathComponent("\(name)-expected.h5").path, mode: .read)
            defer { try? file.close() }
            let input = try file.readFloats("input")
            let output = try file.readFloats("output")
            let frame = input.values.count / input.shape[0]
            let size = output.values.count / output.shape[0]
            var worst: Float = 0
            for n in 0 ..< input.shape[0] {
                let image = Array(input.values[n * frame ..< (n + 1) * frame]).withUnsafeBufferPointer {
                    Array(engine.infer(tensor: $0.baseAddress!))
                }
                XCTAssertEqual(image.count, size, name)
                for i in 0 ..< min(size, image.count) {
                    worst = max(worst, abs(image[i] - output.values[n * size + i]))
                }
            }
            print("\(name): max |engine image - ONNX Runtime| \(worst)")
            XCTAssertLessThan(worst, 1e-4, name)
            XCTAssertThrowsError(try Network(architecture: converted.architecture, maxBatch: 1, threads: 1)) {
                XCTAssertTrue("\($0)".contains("training needs a vector of class scores"), "\($0)")
            }
        }
    }

    /// An external data location outside the model's folder is refused in one line.
    func testExternalDataOutsideTheFolderIsRefused() throws {
        let bytes = [UInt8](try Data(contentsOf: Self.folder.appendingPathComponent("gtsrb32-dynamo.onnx")))
        XCTAssertThrowsError(try ONNXImporter.convert(bytes: bytes, name: "g", directory: nil)) {
            XCTAssertTrue("\($0)".contains("beside the model"), "\($0)")
        }
        XCTAssertThrowsError(try ONNXImporter.convert(bytes: bytes, name: "g", directory: "/nonexistent")) {
            XCTAssertTrue("\($0)".contains("cannot read its external data"), "\($0)")
            XCTAssertFalse("\($0)".contains("\n"))
        }
    }
}
