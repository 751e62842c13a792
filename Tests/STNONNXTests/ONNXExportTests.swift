import Foundation
import ONNXProto
import STNModel
import STNTestSupport
import XCTest

@testable import STNONNX

/// The exporter writes opset-20 graphs whose operators, initialisers and shapes follow the
/// layer list, and import back to the same model (ONNX Runtime's agreement with stn-infer on
/// the exported seed models is checked outside CI by tools/fixtures/check_onnx_export.py).
final class ONNXExportTests: XCTestCase {

    func testShippedSTCNNExportsAsOpset20WithItsParameters() throws {
        let file = try WeightFile.read(FixturePaths.inPackage("Weights/st-cnn.h5"))
        let model = try Onnx_ModelProto(serializedBytes: try ONNXExporter.export(file.weights))
        XCTAssertEqual(model.opsetImport.first?.version, 20)
        XCTAssertEqual(
            model.graph.node.map(\.opType),
            [
                "Resize", "Conv", "MaxPool", "Relu", "Conv", "Relu", "Flatten", "Gemm", "Relu", "Gemm", "Reshape",
                "AffineGrid", "GridSample", "Conv", "MaxPool", "Relu", "Conv", "MaxPool", "Relu", "Flatten", "Gemm",
                "Relu", "Gemm", "LogSoftmax",
            ])
        XCTAssertEqual(model.graph.input.first?.type.tensorType.shape.dim.map(\.dimValue), [1, 1, 42, 42])
        XCTAssertEqual(model.graph.output.first?.type.tensorType.shape.dim.map(\.dimValue), [1, 10])
        for spec in file.architecture.parameters {
            guard let tensor = model.graph.initializer.first(where: { $0.name == spec.name }) else {
                return XCTFail("no initialiser \(spec.name)")
            }
            XCTAssertEqual(tensor.dims, spec.shape.map(Int64.init))
            let values = tensor.rawData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            XCTAssertEqual(values, file.weights[spec.name], spec.name)
        }
    }

    func testTransformsWithoutAnONNXOperatorAreRefusedWithOneLine() throws {
        let architecture = Table1Model.stCNN.architecture(transform: .tps, side: 28)
        XCTAssertThrowsError(try ONNXExporter.export(ModelWeights.zeros(architecture))) {
            XCTAssertEqual("\($0)", "layer 'grid': ONNX has no operator for the tps transform")
        }
    }

    /// h5 -> ONNX -> h5 gives the same tensors under the same names and the same layers (but
    /// dropout), for the shipped models and the tutorial model.
    func testRoundTripKeepsEveryTensor() throws {
        for path in ["Weights/st-cnn.h5", "Weights/cnn.h5", "Tests/Fixtures/tutorial-pytorch.h5"] {
            let weights = try WeightFile.read(FixturePaths.inPackage(path)).weights
            let back = try ONNXImporter.convert(bytes: try ONNXExporter.export(weights), name: "round-trip")
            XCTAssertEqual(back.weights.tensors, weights.tensors, path)
            // Dropout is exported as Identity and not imported: the rest is the same list.
            func kept(_ a: Architecture) -> [String] {
                a.layers.filter { spec in
                    switch spec.operation {
                    case .dropout, .dropout2d: return false
                    default: return true
                    }
                }.map { "\($0.operation.keyword) \($0.outputShape)" }
            }
            XCTAssertEqual(kept(back.architecture), kept(weights.architecture), path)
        }
    }
}
