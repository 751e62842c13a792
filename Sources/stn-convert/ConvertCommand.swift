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
        abstract: "Convert a fixed-shape, batch-1 ONNX model into a stn-swift weight file.",
        discussion: """
            Maps the ONNX graph onto stn-swift's layer list (docs/model-format.md) and writes a self-describing weight file that stn-infer runs. Supported: Conv, BatchNormalization after a Conv, MaxPool/AveragePool without padding, Relu, Reshape/Flatten, Gemm, Softmax/LogSoftmax, Sub/Div by constants at the input, bilinear half-pixel Resize, GridSample, AffineGrid and PyTorch's exported affine grid. Anything else is refused in one line naming the node.

            Examples:
              stn-convert model.onnx --out model.h5
              stn-convert model.onnx --summary
            """)

    @Argument(help: "The ONNX model (a serialised ModelProto).") var model: String
    @Option(help: "The weight file to write (HDF5).") var out: String?
    @Option(help: "The model's name in the description (default: the file's base name).") var name: String?
    @Flag(help: "Print the converted model's layer table.") var summary = false

    func validate() throws {
        guard out != nil || summary else { throw ValidationError("nothing to do: give --out MODEL.h5 or --summary") }
    }

    func run() throws {
        let bytes = try readWholeFile(model, limit: 1 << 30)
        let base = model.split(separator: "/").last.map { String($0) } ?? model
        let stem = base.hasSuffix(".onnx") ? String(base.dropLast(5)) : base
        let converted: (architecture: Architecture, weights: ModelWeights)
        do {
            converted = try ONNXImporter.convert(bytes: bytes, name: name ?? stem)
        } catch let error as ONNXError {
            throw ONNXError("\(model): \(error.description)")
        }
        if summary { writeStandardOutput(converted.architecture.summary() + "\n") }
        if let out {
            let attributes: [String: HDF5Attribute] = ["source": .string("onnx:" + base)]
            try WeightFile(weights: converted.weights, attributes: attributes).write(to: out)
            writeStandardOutput(
                "\(out): \(converted.architecture.name), \(converted.architecture.layers.count) layers, \(converted.architecture.parameterCount) parameters\n"
            )
        }
    }
}
