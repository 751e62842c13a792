import Foundation
import ONNXProto
import STNModel
import SwiftProtobuf

/// Writes a model as opset-20 ONNX for ONNX Runtime and the other engines that start from
/// ONNX. The graph's input is the engine's frame, float [1, C, H, W] on the scale
/// `stn-infer` feeds it (pixels / 255); its output is the model's last layer. Parameters are
/// initialisers under their `state_dict` names (PyTorch's layouts are ONNX's: Conv weights
/// [out, in, kh, kw], Gemm with transB = 1).
public enum ONNXExporter {
    public static let opset: Int64 = 20

    /// The serialised ModelProto. Throws `ONNXError` for a layer ONNX has no operator for
    /// here (the attention, projective and spline transforms).
    public static func export(_ weights: ModelWeights) throws -> [UInt8] {
        let architecture = weights.architecture
        let description = architecture.modelDescription
        var graph = Onnx_GraphProto()
        graph.name = description.name
        graph.input = [valueInfo("input", shape: [1] + dims(description.input))]
        var names: [String: String] = [description.inputName: "input"]
        var constants = 0
        func constant(_ name: String, _ values: [Float], _ shape: [Int]) -> String {
            constants += 1
            let tensorName = "\(name)__\(constants)"
            graph.initializer.append(tensor(tensorName, values, shape))
            return tensorName
        }
        func constant(_ name: String, ints: [Int64]) -> String {
            constants += 1
            let tensorName = "\(name)__\(constants)"
            var t = Onnx_TensorProto()
            t.name = tensorName
            t.dataType = 7  // INT64
            t.dims = [Int64(ints.count)]
            t.rawData = ints.withUnsafeBytes { Data($0) }
            graph.initializer.append(t)
            return tensorName
        }
        for spec in architecture.parameters {
            graph.initializer.append(tensor(spec.name, weights[spec.name], spec.shape))
        }
        for spec in architecture.layers {
            let layer = spec.layer
            let inputs = layer.inputs.map { names[$0]! }
            let output = layer.output
            func parameter(_ suffix: String) -> String? {
                let name = layer.prefix + "." + suffix
                return architecture.parameter(name) == nil ? nil : name
            }
            func node(_ op: String, _ inputs: [String], _ output: String, _ attributes: [Onnx_AttributeProto] = [])
                -> Onnx_NodeProto
            {
                var n = Onnx_NodeProto()
                n.opType = op
                n.name = output
                n.input = inputs
                n.output = [output]
                n.attribute = attributes
                return n
            }
            switch spec.operation {
            case .conv(_, let kernel, let stride, let padding, _):
                graph.node.append(
                    node(
                        "Conv", inputs + [parameter("weight")!] + (parameter("bias").map { [$0] } ?? []), output,
                        [
                            ints("kernel_shape", [kernel.height, kernel.width]),
                            ints("strides", [stride.height, stride.width]),
                            ints("pads", [padding.height, padding.width, padding.height, padding.width]),
                            ints("dilations", [1, 1]), int("group", 1),
                        ]))
            case .batchNorm(let epsilon):
                graph.node.append(
                    node(
                        "BatchNormalization",
                        inputs + ["weight", "bias", "running_mean", "running_var"].map { parameter($0)! }, output,
                        [float("epsilon", epsilon)]))
            case .groupedConv(_, let kernel, let stride, let padding, let dilation, let groups, _):
                graph.node.append(
                    node(
                        "Conv", inputs + [parameter("weight")!] + (parameter("bias").map { [$0] } ?? []), output,
                        [
                            ints("kernel_shape", [kernel.height, kernel.width]),
                            ints("strides", [stride.height, stride.width]),
                            ints("pads", [padding.height, padding.width, padding.height, padding.width]),
                            ints("dilations", [dilation.height, dilation.width]), int("group", groups),
                        ]))
            case .maxPool(let pooling), .averagePool(let pooling):
                var op = "MaxPool"
                var attributes = [
                    ints("kernel_shape", [pooling.kernel.height, pooling.kernel.width]),
                    ints("strides", [pooling.stride.height, pooling.stride.width]),
                    ints(
                        "pads",
                        [pooling.padding.height, pooling.padding.width, pooling.padding.height, pooling.padding.width]),
                    int("ceil_mode", pooling.ceil ? 1 : 0),
                ]
                if case .averagePool = spec.operation {
                    op = "AveragePool"
                    attributes.append(int("count_include_pad", pooling.countIncludePad ? 1 : 0))
                }
                graph.node.append(node(op, inputs, output, attributes))
            case .globalAveragePool, .globalMaxPool:
                var op = "GlobalAveragePool"
                if case .globalMaxPool = spec.operation { op = "GlobalMaxPool" }
                graph.node.append(node(op, inputs, output + "_map"))
                graph.node.append(node("Flatten", [output + "_map"], output, [int("axis", 1)]))
            case .relu:
                graph.node.append(node("Relu", inputs, output))
            case .activation(let activation):
                switch activation {
                case .leakyReLU(let slope):
                    graph.node.append(node("LeakyRelu", inputs, output, [float("alpha", slope)]))
                case .elu(let alpha): graph.node.append(node("Elu", inputs, output, [float("alpha", alpha)]))
                case .tanh: graph.node.append(node("Tanh", inputs, output))
                case .sigmoid: graph.node.append(node("Sigmoid", inputs, output))
                case .silu:
                    graph.node.append(node("Sigmoid", inputs, output + "_sigmoid"))
                    graph.node.append(node("Mul", inputs + [output + "_sigmoid"], output))
                case .clip(let low, let high):
                    graph.node.append(
                        node(
                            "Clip",
                            inputs + [constant(output + "_min", [low], []), constant(output + "_max", [high], [])],
                            output))
                case .hardSigmoid(let alpha, let beta):
                    graph.node.append(
                        node("HardSigmoid", inputs, output, [float("alpha", alpha), float("beta", beta)]))
                case .hardSwish: graph.node.append(node("HardSwish", inputs, output))
                case .gelu: graph.node.append(node("Gelu", inputs, output))
                }
            case .prelu(let perChannel):
                var slope = parameter("weight")!
                let from = spec.inputShapes[0]
                if perChannel, !from.isVector {
                    // [C] broadcasts over the last axis: make it [C, 1, 1] for an NCHW map.
                    let shaped = output + "_slope"
                    graph.node.append(
                        node(
                            "Reshape", [slope, constant(output + "_slope_shape", ints: [Int64(from.channels), 1, 1])],
                            shaped))
                    slope = shaped
                }
                graph.node.append(node("PRelu", inputs + [slope], output))
            case .add:
                graph.node.append(node("Add", inputs, output))
            case .constant(let count):
                graph.node.append(
                    node(
                        "Reshape", [parameter("value")!, constant(output + "_shape", ints: [1, Int64(count)])], output))
            case .select(let sources):
                // Every input flattened to [1, n] and concatenated; the elements gathered from it.
                var flat: [String] = []
                var starts: [Int] = []
                var total = 0
                for (i, input) in inputs.enumerated() {
                    let name = output + "_flat\(i)"
                    graph.node.append(node("Flatten", [input], name, [int("axis", 1)]))
                    flat.append(name)
                    starts.append(total)
                    total += spec.inputShapes[i].count
                }
                let all = output + "_all"
                graph.node.append(node("Concat", flat, all, [int("axis", 1)]))
                graph.node.append(
                    node(
                        "Gather",
                        [
                            all,
                            constant(output + "_indices", ints: sources.map { Int64(starts[$0.input] + $0.element) }),
                        ],
                        output, [int("axis", 1)]))
            case .selectChannels(let sources):
                // The inputs concatenated along channels (one input as it is); the channels
                // gathered from that.
                var starts: [Int] = []
                var total = 0
                for shape in spec.inputShapes {
                    starts.append(total)
                    total += shape.channels
                }
                var all = inputs[0]
                if inputs.count > 1 {
                    all = output + "_all"
                    graph.node.append(node("Concat", inputs, all, [int("axis", 1)]))
                }
                graph.node.append(
                    node(
                        "Gather",
                        [
                            all,
                            constant(output + "_indices", ints: sources.map { Int64(starts[$0.input] + $0.element) }),
                        ],
                        output, [int("axis", 1)]))
            case .mulAdd:
                graph.node.append(node("Mul", inputs + [parameter("scale")!], output + "_scaled"))
                graph.node.append(node("Add", [output + "_scaled", parameter("shift")!], output))
            case .cosine: graph.node.append(node("Cos", inputs, output))
            case .sine: graph.node.append(node("Sin", inputs, output))
            case .gridView(let size):
                graph.node.append(
                    node(
                        "Reshape",
                        inputs + [constant(output + "_shape", ints: [1, Int64(size.height), Int64(size.width), 2])],
                        output))
            case .matrixProduct(let rows, let inner):
                let columns = spec.inputShapes[0].count / inner
                graph.node.append(
                    node(
                        "Reshape", inputs + [constant(output + "_in", ints: [Int64(inner), Int64(columns)])],
                        output + "_matrix"))
                graph.node.append(node("MatMul", [parameter("matrix")!, output + "_matrix"], output + "_product"))
                graph.node.append(
                    node(
                        "Reshape",
                        [output + "_product", constant(output + "_out", ints: [1, Int64(rows * columns)])], output))
            case .flatten:
                graph.node.append(node("Flatten", inputs, output, [int("axis", 1)]))
            case .linear:
                graph.node.append(
                    node(
                        "Gemm", inputs + [parameter("weight")!] + (parameter("bias").map { [$0] } ?? []), output,
                        [int("transB", 1)]))
            case .dropout, .dropout2d:
                graph.node.append(node("Identity", inputs, output))
            case .resize(let size, let scale, let alignCorners):
                let from = spec.inputShapes[0]
                var resizeInputs = inputs + [""]
                if let scale {
                    resizeInputs.append(constant(output + "_scales", [1, 1, scale, scale], [4]))
                } else {
                    resizeInputs += [
                        "",
                        constant(
                            output + "_sizes",
                            ints: [1, Int64(from.channels), Int64(size.height), Int64(size.width)]),
                    ]
                }
                graph.node.append(
                    node(
                        "Resize", resizeInputs, output,
                        [
                            string("mode", "linear"),
                            string(
                                "coordinate_transformation_mode", alignCorners ? "align_corners" : "pytorch_half_pixel"),
                        ]))
            case .transformGrid(let kind, let size, let alignCorners):
                guard kind == .affine else {
                    throw ONNXError("layer '\(output)': ONNX has no operator for the \(kind.rawValue) transform")
                }
                let theta = output + "_theta"
                graph.node.append(node("Reshape", inputs + [constant(output + "_shape", ints: [1, 2, 3])], theta))
                graph.node.append(
                    node(
                        "AffineGrid",
                        [theta, constant(output + "_size", ints: [1, 1, Int64(size.height), Int64(size.width)])],
                        output, [int("align_corners", alignCorners ? 1 : 0)]))
            case .gridSample(let mode, let padding, let alignCorners):
                graph.node.append(
                    node(
                        "GridSample", inputs, output,
                        [
                            string("mode", mode == .nearest ? "nearest" : "linear"),
                            string("padding_mode", padding.rawValue), int("align_corners", alignCorners ? 1 : 0),
                        ]))
            case .softmax:
                graph.node.append(node("Softmax", inputs, output, [int("axis", 1)]))
            case .logSoftmax:
                graph.node.append(node("LogSoftmax", inputs, output, [int("axis", 1)]))
            case .tensor:
                throw ONNXError(
                    "layer '\(output)': version-2 (dense tensor) models are not exported; convert the original ONNX file"
                )
            case .normalize(let mean, let std):
                let c = spec.inputShapes[0].channels
                let means = mean.count == 1 ? [Float](repeating: mean[0], count: c) : mean
                let stds = std.count == 1 ? [Float](repeating: std[0], count: c) : std
                let centred = output + "_centred"
                graph.node.append(node("Sub", inputs + [constant(output + "_mean", means, [1, c, 1, 1])], centred))
                graph.node.append(node("Div", [centred, constant(output + "_std", stds, [1, c, 1, 1])], output))
            }
            names[output] = output
        }
        graph.output = [valueInfo(description.outputName, shape: [1] + dims(architecture.outputShape))]
        var model = Onnx_ModelProto()
        model.irVersion = 9
        model.producerName = "stn-swift"
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = Self.opset
        model.opsetImport = [opset]
        model.graph = graph
        return [UInt8](try model.serializedData())
    }

    /// ONNX dims of one image's tensor: [C, H, W], or [features] for a vector.
    static func dims(_ shape: TensorShape) -> [Int] {
        shape.isVector ? [shape.channels] : [shape.channels, shape.height, shape.width]
    }

    static func tensor(_ name: String, _ values: [Float], _ shape: [Int]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = 1  // FLOAT
        t.dims = shape.map(Int64.init)
        // Raw little-endian floats, as exporters write them.
        t.rawData = values.map(\.bitPattern.littleEndian).withUnsafeBytes { Data($0) }
        return t
    }

    static func valueInfo(_ name: String, shape: [Int]) -> Onnx_ValueInfoProto {
        var info = Onnx_ValueInfoProto()
        info.name = name
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = 1
        var tensorShape = Onnx_TensorShapeProto()
        tensorShape.dim = shape.map { value in
            var d = Onnx_TensorShapeProto.Dimension()
            d.dimValue = Int64(value)
            return d
        }
        tensorType.shape = tensorShape
        var type = Onnx_TypeProto()
        type.tensorType = tensorType
        info.type = type
        return info
    }

    static func attribute(_ name: String, _ type: Onnx_AttributeProto.AttributeType) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = type
        return a
    }

    static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var a = attribute(name, .int)
        a.i = Int64(value)
        return a
    }

    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var a = attribute(name, .ints)
        a.ints = values.map(Int64.init)
        return a
    }

    static func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var a = attribute(name, .float)
        a.f = value
        return a
    }

    static func string(_ name: String, _ value: String) -> Onnx_AttributeProto {
        var a = attribute(name, .string)
        a.s = Data(value.utf8)
        return a
    }
}
