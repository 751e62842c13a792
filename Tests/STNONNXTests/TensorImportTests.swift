import Foundation
import ONNXProto
import STNEngine
import STNModel
import STNONNX
import XCTest

/// Graphs that become version-2 descriptions: folding of shape arithmetic, and the one-line
/// refusals of untrusted files.
final class TensorImportTests: XCTestCase {
    func valueInfo(_ name: String, _ dims: [Int64]) -> Onnx_ValueInfoProto {
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type.tensorType.elemType = 1
        info.type.tensorType.shape.dim = dims.map {
            var d = Onnx_TensorShapeProto.Dimension()
            d.dimValue = $0
            return d
        }
        return info
    }

    func node(_ op: String, _ inputs: [String], _ output: String, _ attributes: [Onnx_AttributeProto] = [])
        -> Onnx_NodeProto
    {
        var n = Onnx_NodeProto()
        n.opType = op
        n.input = inputs
        n.output = [output]
        n.attribute = attributes
        return n
    }

    func ints(_ name: String, _ values: [Int64]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = 7
        t.dims = [Int64(values.count)]
        t.int64Data = values
        return t
    }

    func intAttribute(_ name: String, _ value: Int64) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = value
        return a
    }

    func model(_ graph: Onnx_GraphProto) throws -> [UInt8] {
        var m = Onnx_ModelProto()
        m.irVersion = 9
        var opset = Onnx_OperatorSetIdProto()
        opset.version = 20
        m.opsetImport = [opset]
        m.graph = graph
        return try m.serializedBytes()
    }

    /// x [2, 3, 4] reshaped to [Shape(x)[0], -1] through Shape, Gather, Unsqueeze, Concat and
    /// Cast: all folded, one reshape left.
    func shapeArithmetic() -> Onnx_GraphProto {
        var graph = Onnx_GraphProto()
        graph.input = [valueInfo("x", [2, 3, 4])]
        graph.output = [valueInfo("y", [2, 12])]
        var index = Onnx_AttributeProto()
        index.name = "value"
        index.type = .tensor
        index.t = ints("", [0])
        index.t.dims = []
        graph.initializer = [ints("axes", [0]), ints("rest", [-1])]
        graph.node = [
            node("Shape", ["x"], "s"),
            node("Constant", [], "i", [index]),
            node("Gather", ["s", "i"], "n"),
            node("Unsqueeze", ["n", "axes"], "n1"),
            node("Concat", ["n1", "rest"], "shape", [intAttribute("axis", 0)]),
            node("Cast", ["shape"], "shape64", [intAttribute("to", 7)]),
            node("Reshape", ["x", "shape64"], "r"),
            node("Relu", ["r"], "y"),
        ]
        return graph
    }

    func testShapeArithmeticIsFolded() throws {
        let converted = try ONNXImporter.convert(bytes: try model(shapeArithmetic()), name: "folded")
        let architecture = converted.architecture
        XCTAssertTrue(architecture.isGeneral)
        XCTAssertEqual(architecture.layers.map(\.operation.keyword), ["reshape", "relu"])
        XCTAssertEqual(architecture.tensorDims[architecture.modelDescription.outputName], [2, 12])
        let engine = try Engine(weights: converted.weights, threads: 1)
        let input: [Float] = (0 ..< 24).map { Float($0) - 12 }
        let output = input.withUnsafeBufferPointer { Array(engine.infer(tensor: $0.baseAddress!)) }
        XCTAssertEqual(output, input.map { max($0, 0) })
    }

    func testUntrustedGraphsAreRefusedInOneLine() throws {
        func refusal(_ graph: Onnx_GraphProto) throws -> String {
            do {
                _ = try ONNXImporter.convert(bytes: try model(graph), name: "bad")
                return "converted"
            } catch {
                return "\(error)"
            }
        }
        func expect(_ message: String, _ fragment: String, line: UInt = #line) {
            XCTAssertTrue(message.contains(fragment), message, line: line)
            XCTAssertFalse(message.contains("\n"), message, line: line)
        }
        var graph = shapeArithmetic()
        graph.input = [valueInfo("x", [2, 100_000, 4])]
        expect(try refusal(graph), "not a fixed shape")
        graph = shapeArithmetic()
        graph.node[7].input = ["y"]  // reads its own output: a cycle
        expect(try refusal(graph), "no earlier node")
        graph = shapeArithmetic()
        graph.initializer.removeAll { $0.name == "rest" }
        expect(try refusal(graph), "'rest'")
        graph = shapeArithmetic()
        graph.node[6].opType = "Erf"
        let message = try refusal(graph)
        XCTAssertTrue(message.contains("node 6") && message.contains("(Erf)"), message)
        graph = shapeArithmetic()
        graph.initializer[1].dims = [Int64.max]
        expect(try refusal(graph), "dimension")
        expect(try refusal(shapeArithmetic()), "converted")
    }

    /// stn-infer feeds height x width x channels pixels: a version-2 model reading
    /// [1, C, H, W] gets them reordered to its NCHW input.
    func testPixelFramesAreReorderedForPlanarInputs() throws {
        let architecture = try Architecture(
            parsing: "stn-model 2\ninput x 1x3x2x2\nreshape flat x shape=1x12\nlog_softmax y flat axis=1\n")
        let engine = try Engine(weights: try ModelWeights(architecture: architecture, tensors: [:]), threads: 1)
        let hwc: [UInt8] = (0 ..< 12).map { UInt8($0 * 20) }
        var result = InferenceResult()
        hwc.withUnsafeBufferPointer { engine.infer(pixels: $0.baseAddress!, into: &result) }
        XCTAssertEqual(result.classCount, 12)
        // NCHW index c * 4 + p holds HWC pixel p * 3 + c.
        let planar: [Float] = (0 ..< 12).map { i in Float(hwc[(i % 4) * 3 + i / 4]) / 255 }
        let expected = planar.withUnsafeBufferPointer { Array(engine.infer(tensor: $0.baseAddress!)) }
        for k in 0 ..< 12 { XCTAssertEqual(result.logProbs[k], expected[k], accuracy: 1e-6) }
        XCTAssertEqual(result.digit, 11)
    }
}
