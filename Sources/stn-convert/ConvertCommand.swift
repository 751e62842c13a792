import ArgumentParser
import STNCommandLine
import STNLibHDF5
import STNModel
import STNONNX
import STNSystem

@main
struct ConvertCommand: ParsableCommand {
    static func main() { runTool(ConvertCommand.self, name: "stn-convert") }

    static let configuration = CommandConfiguration(
        commandName: "stn-convert",
        abstract: "Convert between ONNX and stn-swift weight files: MODEL.onnx -> MODEL.h5, or MODEL.h5 -> MODEL.onnx.",
        discussion: """
            ONNX to stn-swift: maps the ONNX graph onto stn-swift's layer list (docs/model-format.md) and writes a self-describing weight file that stn-infer runs: a batch-1 image classifier of the seed models' layers becomes a version-1 description, any other fixed-shape graph a version-2 description of dense tensors. Supported (docs/onnx.md): Conv, BatchNormalization, MaxPool, AveragePool, GlobalAveragePool, Relu, Gemm, MatMul, Add/Sub/Mul/Div, Flatten, Reshape, Transpose, ReduceSum, Dropout, Identity, Softmax/LogSoftmax, Resize, AffineGrid, GridSample, with Shape/Gather/Unsqueeze/Concat/Cast/Constant folded at the fixed shape. Anything else is refused in one line naming the node.

            stn-swift to ONNX (the output name ends in .onnx): writes an opset-20 model whose input is the engine's frame, float [1, C, H, W] on the scale stn-infer feeds it, and whose output is the model's last layer, for ONNX Runtime and other engines. The attention, projective and thin-plate-spline transforms have no ONNX operator and are refused.

            Examples:
              stn-convert model.onnx --out model.h5
              stn-convert model.onnx --summary
              stn-convert Weights/st-cnn.h5 --out st-cnn.onnx
              stn-convert --run-test Tests/Fixtures/onnx-conformance/test_gemm_alpha

            --run-test CASE_DIR runs one ONNX backend node-test case (model.onnx and test_data_set_N/) through the same conversion and the engine stn-infer uses, binding every graph input after the first as a constant; it exits 0 when every output is within rtol 1e-3 and atol 1e-5 of the expected one.
            """)

    @Argument(help: "The ONNX model (a serialised ModelProto), or a weight file (.h5) to export.") var model: String?
    @Option(name: .customLong("run-test"), help: "Run one ONNX conformance case folder (model.onnx, test_data_set_N/).")
    var runTest: String?
    @Option(help: "The file to write: a weight file (HDF5), or ONNX when the name ends in .onnx.") var out: String?
    @Option(help: "The model's name in the description (default: the file's base name).") var name: String?
    @Flag(help: "Print the converted model's layer table.") var summary = false

    func validate() throws {
        if runTest != nil {
            guard model == nil, out == nil else { throw ValidationError("--run-test takes no model and no --out") }
            return
        }
        guard model != nil else { throw ValidationError("give a model to convert, or --run-test CASE_DIR") }
        guard out != nil || summary else { throw ValidationError("nothing to do: give --out MODEL.h5 or --summary") }
    }

    func run() throws {
        if let runTest {
            let outcome = try ConformanceCase.run(directory: runTest)
            let name = runTest.split(separator: "/").last.map(String.init) ?? runTest
            if let failure = outcome.failure {
                throw ONNXError("\(name): FAIL, \(failure) (max error \(outcome.maximumError))")
            }
            try writeStandardOutput(
                "\(name): pass, \(outcome.values) values in \(outcome.dataSets) data set(s), max |engine - expected| \(outcome.maximumError)\n"
            )
            return
        }
        guard let model else { return }
        if model.hasSuffix(".h5") {
            try export()
            return
        }
        let bytes = try readWholeFile(model, limit: 1 << 30)
        let base = model.split(separator: "/").last.map { String($0) } ?? model
        let stem = base.hasSuffix(".onnx") ? String(base.dropLast(5)) : base
        let converted: (architecture: Architecture, weights: ModelWeights)
        do {
            let directory = model.contains("/") ? String(model[..<model.lastIndex(of: "/")!]) : ""
            converted = try ONNXImporter.convert(bytes: bytes, name: name ?? stem, directory: directory)
        } catch let error as ONNXError {
            throw ONNXError("\(model): \(error.description)")
        }
        if summary { try writeStandardOutput(converted.architecture.summary() + "\n") }
        if let out {
            let attributes: [String: HDF5Attribute] = ["source": .string("onnx:" + base)]
            try WeightFile(weights: converted.weights, attributes: attributes).write(to: out)
            try writeStandardOutput(
                "\(out): \(converted.architecture.name), \(converted.architecture.layers.count) layers, \(converted.architecture.parameterCount) parameters\n"
            )
        }
    }

    /// A weight file to ONNX, written atomically.
    func export() throws {
        guard let model else { return }
        let file = try WeightFile.read(model)
        if summary { try writeStandardOutput(file.architecture.summary() + "\n") }
        guard let out else { return }
        guard out.hasSuffix(".onnx") else {
            throw ValidationError("\(out): exporting writes ONNX; name the output MODEL.onnx")
        }
        let bytes: [UInt8]
        do {
            bytes = try ONNXExporter.export(file.weights)
        } catch let error as ONNXError {
            throw ONNXError("\(model): \(error.description)")
        }
        do {
            try writeAtomically(bytes, to: out)
        } catch let error as FileError {
            // The reason alone: FileError's own text names the path again.
            throw ONNXError("\(out): cannot write: \(error.reason)")
        }
        try writeStandardOutput(
            "\(out): \(file.architecture.name), opset \(ONNXExporter.opset), \(bytes.count) bytes\n")
    }
}
