import Foundation
import ONNXProto
import STNModel
import XCTest

@testable import STNONNX

/// The exporter writes opset-20 graphs whose operators, initialisers and shapes follow the
/// layer list (ONNX Runtime's agreement with stn-infer is checked by tools/check_onnx_export.py).
final class ONNXExportTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func testShippedSTCNNExportsAsOpset20WithItsParameters() throws {
        let file = try WeightFile.read(Self.root.appendingPathComponent("Weights/st-cnn.h5").path)
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
}
