import Foundation
import ONNXProto
import STNEngine
import STNLibHDF5
import STNModel
import STNTrainer
import XCTest

@testable import STNONNX

/// Channels of maps selected and joined, in and out of ONNX: PyTorch's `x[:, 0:1]` and
/// `torch.cat` (Slice and Concat) import as `select ... channels=`; `select ... channels=`
/// exports as Concat and Gather along channels.
final class ChannelSelectionONNXTests: XCTestCase {
    /// `channels` (tools/fixtures/make_channel_fixtures.py): two transformers each warping one channel
    /// of a 2-channel input, joined in swapped order, converts onto the fast layers and runs
    /// to ONNX Runtime's answers.
    func testPyTorchSlicesAndConcatenationOfChannelsMatchONNXRuntime() throws {
        let converted = try ONNXImporter.convert(bytes: try fixtureBytes("channels"), name: "channels")
        XCTAssertFalse(converted.architecture.isGeneral)
        let selections = converted.architecture.layers.compactMap { spec -> [ElementSource]? in
            if case .selectChannels(let sources) = spec.operation { return sources }
            return nil
        }
        // x[:, 0:1], x[:, 1:2], then cat([b, a]): channel 0 of the second sampler's output first.
        XCTAssertEqual(
            selections,
            [
                [ElementSource(input: 0, element: 0)], [ElementSource(input: 0, element: 1)],
                [ElementSource(input: 0, element: 0), ElementSource(input: 1, element: 0)],
            ], converted.architecture.modelDescription.text)
        let engine = try Engine(weights: converted.weights, threads: 1)
        let file = try HDF5File(
            path: ONNXImporterTests.fixtures.appendingPathComponent("onnx/channels-expected.h5").path, mode: .read)
        defer { try? file.close() }
        let input = try file.readFloats("input")
        let output = try file.readFloats("output")
        let frame = input.values.count / input.shape[0]
        let classes = output.shape[1]
        XCTAssertEqual(engine.frameCount, frame)
        var worst: Float = 0
        for n in 0 ..< input.shape[0] {
            let got = Array(input.values[n * frame ..< (n + 1) * frame]).withUnsafeBufferPointer {
                Array(engine.infer(tensor: $0.baseAddress!))
            }
            XCTAssertEqual(got.count, classes)
            for k in 0 ..< min(classes, got.count) { worst = max(worst, abs(got[k] - output.values[n * classes + k])) }
        }
        print("channels: max |engine - ONNX Runtime| \(worst) over \(input.shape[0]) inputs")
        XCTAssertLessThan(worst, 1e-4)
    }

    /// A selection of channels exports as Concat and Gather along axis 1 (one input: Gather
    /// alone), and the graph imports back to a model with the same answers.
    func testExportedSelectionImportsBackToTheSameAnswers() throws {
        let architecture = try Architecture(
            parsing: """
                stn-model 1 name=join
                input x 2x8x8
                conv a x out=3 kernel=3
                conv b x out=2 kernel=3
                select one a channels=0:2
                select both one,b channels=1:1,0:0,1:0
                flatten f both
                linear o f out=5
                log_softmax out o
                """)
        let weights = Initializer.pytorchDefault(architecture, seed: 3)
        let model = try Onnx_ModelProto(serializedBytes: try ONNXExporter.export(weights))
        let nodes = model.graph.node.map { ($0.opType, $0.attribute.first { $0.name == "axis" }?.i) }
        XCTAssertEqual(nodes.filter { $0.0 == "Gather" }.map(\.1), [1, 1])
        XCTAssertEqual(nodes.filter { $0.0 == "Concat" }.map(\.1), [1])
        let back = try ONNXImporter.convert(bytes: try ONNXExporter.export(weights), name: "join")
        let original = try Engine(weights: weights, threads: 1)
        let imported = try Engine(weights: back.weights, threads: 1)
        let input = (0 ..< 128).map { Float(($0 * 37) % 101) / 101 }
        let a = input.withUnsafeBufferPointer { Array(original.infer(tensor: $0.baseAddress!)) }
        let b = input.withUnsafeBufferPointer { Array(imported.infer(tensor: $0.baseAddress!)) }
        XCTAssertEqual(a.count, 5)
        for k in 0 ..< 5 { XCTAssertEqual(a[k], b[k], accuracy: 1e-5) }
    }
}
