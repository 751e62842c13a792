/// One learnable tensor (or batch-norm statistic), named and shaped as its PyTorch
/// `state_dict` entry: conv `[out, in, kh, kw]`, linear `[out, in]`, bias `[out]`.
public struct ParameterSpec: Sendable, Equatable {
    public enum Role: Sendable, Equatable {
        case weight, bias
        /// PReLU's negative slopes: start at 0.25, as PyTorch's.
        case slope
        /// Fixed values (constants, a TPS grid's matrix): loaded, never trained.
        case buffer
        /// Batch-norm statistics: loaded and folded, never trained.
        case runningMean, runningVariance
    }

    public let name: String
    public let shape: [Int]
    /// Inputs feeding one output unit: PyTorch's default initialisation draws from
    /// uniform(+-1/sqrt(fanIn)) (kaiming-uniform with a = sqrt(5) gives the same bound).
    public let fanIn: Int
    public let role: Role

    public init(name: String, shape: [Int], fanIn: Int, role: Role) {
        self.name = name
        self.shape = shape
        self.fanIn = fanIn
        self.role = role
    }

    public var count: Int { shape.reduce(1, *) }
    public var isBias: Bool { role == .bias }
}

/// One layer of a checked model: its operation, the shapes it reads and writes, its parameters.
public struct LayerSpec: Sendable, Equatable {
    public let layer: Layer
    public let inputShapes: [TensorShape]
    public let outputShape: TensorShape
    public let parameters: [ParameterSpec]
    /// Version 2: the dims of each input and of the output.
    public var inputDims: [[Int]] = []
    public var outputDims: [Int] = []

    /// The layer's output tensor, which also names the layer.
    public var name: String { layer.output }
    public var operation: Operation { layer.operation }
}

/// A model description checked and sized: every tensor's shape, every parameter's name and
/// shape, in execution order. Built only through `init(_:)`, which refuses a description
/// whose shapes do not fit, names an unknown tensor or exceeds the size limits.
public struct Architecture: Sendable, Equatable {
    public let modelDescription: ModelDescription
    public let layers: [LayerSpec]
    /// Every parameter, in layer order.
    public let parameters: [ParameterSpec]
    /// Shape of every tensor by name, the input included.
    public let shapes: [String: TensorShape]
    /// Version 2: the dims of every tensor by name (empty for version 1).
    public let tensorDims: [String: [Int]]

    /// Whether the model is a version-2 graph of dense tensors.
    public var isGeneral: Bool { modelDescription.inputDims != nil }

    /// The most floats any one tensor may hold (64 MiB of activations).
    public static let maximumTensorElements = 1 << 24
    /// The most floats all tensors together may hold (the arena's bound, 1 GiB).
    public static let maximumTotalElements = 1 << 28

    public var name: String { modelDescription.name }
    public var inputShape: TensorShape { modelDescription.input }
    public var outputShape: TensorShape { layers.last!.outputShape }
    /// The classes of the model's answer (its output's features).
    public var classCount: Int { outputShape.channels }
    public var hasTransformer: Bool { !transforms.isEmpty }
    /// Every grid generator's transform, in order.
    public var transforms: [TransformKind] {
        layers.compactMap { if case .transformGrid(let kind, _, _) = $0.operation { kind } else { nil } }
    }
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    public func parameter(_ name: String) -> ParameterSpec? { parameters.first { $0.name == name } }
    public func layer(_ name: String) -> LayerSpec? { layers.first { $0.name == name } }

    public init(parsing text: String) throws {
        try self.init(ModelDescription(parsing: text))
    }

    public init(_ description: ModelDescription) throws {
        var shapes: [String: TensorShape] = [description.inputName: description.input]
        var consumers: [String: Int] = [:]
        var layers: [LayerSpec] = []
        var parameterNames = Set<String>()
        var parameters: [ParameterSpec] = []
        var total = description.input.count
        var tensorDims: [String: [Int]] = [:]
        if let dims = description.inputDims {
            guard checkedDims(dims), dims.reduce(1, *) == description.input.count else {
                throw DescriptionError(layer: description.inputName, "input dims \(dims) are not 1 to 4 valid dims")
            }
            tensorDims[description.inputName] = dims
        }
        guard description.input.count <= Architecture.maximumTensorElements else {
            throw DescriptionError(
                layer: description.inputName,
                "input \(description.input) exceeds \(Architecture.maximumTensorElements) values")
        }
        for layer in description.layers {
            func fail(_ message: String) -> DescriptionError { DescriptionError(layer: layer.output, message) }
            guard shapes[layer.output] == nil else { throw fail("the tensor '\(layer.output)' is written twice") }
            let inputs = try layer.inputs.map { name -> TensorShape in
                guard let shape = shapes[name] else {
                    throw fail("reads '\(name)', which no earlier layer writes")
                }
                return shape
            }
            for name in layer.inputs { consumers[name, default: 0] += 1 }
            var isTensorOperation = false
            if case .tensor = layer.operation { isTensorOperation = true }
            guard isTensorOperation == (description.inputDims != nil) else {
                throw fail(
                    "\(layer.operation.keyword) is not an operation of format version \(description.version)")
            }
            guard layer.operation.inputCounts.contains(inputs.count) else {
                throw fail(
                    "\(layer.operation.keyword) reads \(layer.operation.inputCountText) tensors, given \(inputs.count)")
            }
            let input = inputs.first ?? .vector(1)
            let output: TensorShape
            var outputDims: [Int] = []
            var owned: [ParameterSpec] = []
            func parameter(_ suffix: String, _ shape: [Int], fanIn: Int, _ role: ParameterSpec.Role) {
                owned.append(ParameterSpec(name: layer.prefix + "." + suffix, shape: shape, fanIn: fanIn, role: role))
            }
            func spatial(_ extent: Int, _ kernel: Int, _ stride: Int, _ padding: Int, _ what: String) throws -> Int {
                let span = extent + 2 * padding - kernel
                guard span >= 0 else {
                    throw fail("\(what) \(kernel) is larger than the padded input (\(extent + 2 * padding))")
                }
                return span / stride + 1
            }
            switch layer.operation {
            case .conv(let out, let kernel, let stride, let padding, let bias):
                guard !input.isVector || (kernel.height == 1 && kernel.width == 1) else {
                    throw fail("convolution of a vector (\(input)); flatten comes after convolutions")
                }
                output = TensorShape(
                    channels: out,
                    height: try spatial(input.height, kernel.height, stride.height, padding.height, "kernel height"),
                    width: try spatial(input.width, kernel.width, stride.width, padding.width, "kernel width"))
                let fanIn = input.channels * kernel.height * kernel.width
                parameter("weight", [out, input.channels, kernel.height, kernel.width], fanIn: fanIn, .weight)
                if bias { parameter("bias", [out], fanIn: fanIn, .bias) }
            case .groupedConv(let out, let kernel, let stride, let padding, let dilation, let groups, let bias):
                guard !input.isVector || (kernel.height == 1 && kernel.width == 1) else {
                    throw fail("convolution of a vector (\(input)); flatten comes after convolutions")
                }
                guard input.channels % groups == 0, out % groups == 0 else {
                    throw fail("groups=\(groups) does not divide \(input.channels) input and \(out) output channels")
                }
                let span = Size2(
                    dilation.height * (kernel.height - 1) + 1, dilation.width * (kernel.width - 1) + 1)
                output = TensorShape(
                    channels: out,
                    height: try spatial(
                        input.height, span.height, stride.height, padding.height, "dilated kernel height"),
                    width: try spatial(input.width, span.width, stride.width, padding.width, "dilated kernel width"))
                let fanIn = input.channels / groups * kernel.height * kernel.width
                parameter("weight", [out, input.channels / groups, kernel.height, kernel.width], fanIn: fanIn, .weight)
                if bias { parameter("bias", [out], fanIn: fanIn, .bias) }
            case .batchNorm:
                output = input
                let c = input.channels
                parameter("weight", [c], fanIn: 1, .weight)
                parameter("bias", [c], fanIn: 1, .bias)
                parameter("running_mean", [c], fanIn: 1, .runningMean)
                parameter("running_var", [c], fanIn: 1, .runningVariance)
            case .maxPool(let pooling), .averagePool(let pooling):
                guard 2 * pooling.padding.height <= pooling.kernel.height,
                    2 * pooling.padding.width <= pooling.kernel.width
                else {
                    throw fail("pooling padding \(pooling.padding) is more than half the window \(pooling.kernel)")
                }
                guard
                    let height = pooling.outputExtent(
                        input.height, kernel: pooling.kernel.height, stride: pooling.stride.height,
                        padding: pooling.padding.height),
                    let width = pooling.outputExtent(
                        input.width, kernel: pooling.kernel.width, stride: pooling.stride.width,
                        padding: pooling.padding.width)
                else {
                    throw fail("pooling window \(pooling.kernel) is larger than the padded input \(input)")
                }
                output = TensorShape(channels: input.channels, height: height, width: width)
            case .globalAveragePool, .globalMaxPool:
                output = .vector(input.channels)
            case .relu, .dropout, .dropout2d, .activation:
                output = input
            case .prelu(let perChannel):
                output = input
                parameter("weight", [perChannel ? input.channels : 1], fanIn: 1, .slope)
            case .constant(let count):
                output = .vector(count)
                parameter("value", [count], fanIn: 1, .buffer)
            case .select(let sources):
                guard !sources.isEmpty else { throw fail("select picks no elements") }
                guard Set(layer.inputs).count == layer.inputs.count else {
                    throw fail("select reads a tensor twice: name each input once")
                }
                for source in sources {
                    guard source.input >= 0, source.input < inputs.count, source.element >= 0,
                        source.element < inputs[source.input].count
                    else {
                        throw fail(
                            "select reads element \(source.element) of input \(source.input), which is not there")
                    }
                }
                output = .vector(sources.count)
            case .selectChannels(let sources):
                guard !sources.isEmpty else { throw fail("select picks no channels") }
                guard Set(layer.inputs).count == layer.inputs.count else {
                    throw fail("select reads a tensor twice: name each input once")
                }
                for (name, shape) in zip(layer.inputs, inputs) {
                    guard !shape.isVector else {
                        throw fail(
                            "select channels= of the vector '\(name)': it picks channels of maps (elements= picks a vector's)"
                        )
                    }
                    guard shape.height == input.height, shape.width == input.width else {
                        throw fail(
                            "select channels= of maps of different sizes: '\(layer.inputs[0])' is \(input), '\(name)' is \(shape)"
                        )
                    }
                }
                for source in sources {
                    guard source.input >= 0, source.input < inputs.count, source.element >= 0,
                        source.element < inputs[source.input].channels
                    else {
                        throw fail(
                            "select reads channel \(source.element) of input \(source.input), which is not there")
                    }
                }
                output = TensorShape(channels: sources.count, height: input.height, width: input.width)
            case .mulAdd:
                guard input.isVector else { throw fail("mul_add of a \(input) map: it works on vectors") }
                output = input
                parameter("scale", [input.channels], fanIn: 1, .buffer)
                parameter("shift", [input.channels], fanIn: 1, .buffer)
            case .cosine, .sine:
                guard input.isVector else {
                    throw fail("\(layer.operation.keyword) of a \(input) map: it works on vectors")
                }
                output = input
            case .gridView(let size):
                guard input.isVector, input.channels == size.height * size.width * 2 else {
                    throw fail(
                        "grid \(size.height)x\(size.width) needs a vector of \(size.height * size.width * 2) values, '\(layer.inputs[0])' is \(input)"
                    )
                }
                output = TensorShape(channels: 2, height: size.height, width: size.width)
            case .matrixProduct(let rows, let inner):
                guard input.isVector, input.channels % inner == 0 else {
                    throw fail("matmul by a [\(rows), \(inner)] matrix of \(input): not a [\(inner), N] matrix")
                }
                output = .vector(rows * (input.channels / inner))
                parameter("matrix", [rows, inner], fanIn: 1, .buffer)
            case .add:
                guard inputs[1] == input else {
                    throw fail("add of \(input) and \(inputs[1]): the shapes differ")
                }
                output = input
            case .flatten:
                output = .vector(input.count)
            case .linear(let out, let bias):
                guard input.isVector else { throw fail("linear layer on a \(input) map: flatten it first") }
                parameter("weight", [out, input.channels], fanIn: input.channels, .weight)
                if bias { parameter("bias", [out], fanIn: input.channels, .bias) }
                output = .vector(out)
            case .resize(let size, let scale, _):
                var target = size
                if let scale {
                    target = Size2(Int(Float(input.height) * scale), Int(Float(input.width) * scale))
                }
                guard target.height >= 1, target.width >= 1, target.height <= ModelDescription.maximumDimension,
                    target.width <= ModelDescription.maximumDimension
                else { throw fail("resize of \(input) gives \(target.height)x\(target.width)") }
                output = TensorShape(channels: input.channels, height: target.height, width: target.width)
            case .transformGrid(let kind, let size, _):
                guard input == .vector(kind.parameterCount) else {
                    throw fail(
                        "\(kind.keyword) reads \(kind.parameterCount) values (theta), '\(layer.inputs[0])' has \(input)"
                    )
                }
                output = TensorShape(channels: 2, height: size.height, width: size.width)
            case .gridSample:
                let grid = inputs[1]
                guard grid.channels == 2, !grid.isVector || grid.count == 2 else {
                    throw fail("grid_sample's grid '\(layer.inputs[1])' is \(grid), expected 2xHxW")
                }
                output = TensorShape(channels: input.channels, height: grid.height, width: grid.width)
            case .softmax, .logSoftmax:
                guard input.isVector else {
                    throw fail("\(layer.operation.keyword) of a \(input) map: flatten it first")
                }
                output = input
            case .tensor(let operation):
                let dims = layer.inputs.map { tensorDims[$0] ?? [] }
                outputDims = try operation.outputDims(dims, fail: fail)
                guard checkedDims(outputDims) else {
                    throw fail("output dims \(outputDims) are not 1 to 4 dims within the size limits")
                }
                output = .vector(outputDims.reduce(1, *))
                if case .constant(let shape) = operation { parameter("value", shape, fanIn: 1, .weight) }
                tensorDims[layer.output] = outputDims
            case .normalize(let mean, let std):
                guard mean.count == 1 || mean.count == input.channels, std.count == 1 || std.count == input.channels
                else {
                    throw fail(
                        "normalize has \(mean.count) means and \(std.count) deviations for \(input.channels) channels")
                }
                output = input
            }
            guard output.count <= Architecture.maximumTensorElements else {
                throw fail("output \(output) exceeds \(Architecture.maximumTensorElements) values")
            }
            total += output.count
            guard total <= Architecture.maximumTotalElements else {
                throw fail("the model's tensors exceed \(Architecture.maximumTotalElements) values in all")
            }
            for spec in owned {
                guard parameterNames.insert(spec.name).inserted else {
                    throw fail("parameter '\(spec.name)' belongs to two layers")
                }
                guard spec.count <= Architecture.maximumTotalElements else {
                    throw fail("parameter '\(spec.name)' \(spec.shape) is too large")
                }
            }
            parameters += owned
            shapes[layer.output] = output
            layers.append(
                LayerSpec(
                    layer: layer, inputShapes: inputs, outputShape: output, parameters: owned,
                    inputDims: layer.inputs.map { tensorDims[$0] ?? [] }, outputDims: outputDims))
        }
        guard parameters.reduce(0, { $0 + $1.count }) <= Architecture.maximumTotalElements else {
            throw DescriptionError(line: nil, "the model has more than \(Architecture.maximumTotalElements) parameters")
        }
        modelDescription = description
        self.layers = layers
        self.parameters = parameters
        self.shapes = shapes
        self.tensorDims = tensorDims
    }

    /// The layers that compute a transform's parameters: every layer with parameters from
    /// which some grid generator's input can be reached (the localisation nets). Their
    /// parameters train at the recipe's localisation rate.
    public var localisationLayers: Set<String> {
        var needed = Set(
            layers.compactMap { spec -> String? in
                if case .transformGrid = spec.operation { return spec.layer.inputs[0] }
                return nil
            })
        var result = Set<String>()
        for spec in layers.reversed() where needed.contains(spec.name) {
            if !spec.parameters.isEmpty { result.insert(spec.name) }
            for input in spec.layer.inputs { needed.insert(input) }
        }
        return result
    }

    /// Layers whose output is a transform's parameters (read by a grid generator): they start
    /// at the identity transform (zero weights, identity bias).
    public var thetaLayers: Set<String> { Set(thetaIdentities.keys) }

    /// Each linear layer that outputs a transform's parameters, and that transform's identity.
    public var thetaIdentities: [String: [Float]] {
        var producers: [String: LayerSpec] = [:]
        for spec in layers { producers[spec.name] = spec }
        var result: [String: [Float]] = [:]
        for spec in layers {
            guard case .transformGrid(let kind, _, _) = spec.operation, let producer = producers[spec.layer.inputs[0]]
            else { continue }
            if case .linear = producer.operation { result[producer.name] = kind.identity }
        }
        return result
    }
}

extension Architecture {
    /// The layer table `stn-train --summary` prints: name, operation, output shape, parameters.
    public func summary() -> String {
        func pad(_ s: String, _ n: Int) -> String {
            s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count)
        }
        func padLeft(_ s: String, _ n: Int) -> String {
            s.count >= n ? s : String(repeating: " ", count: n - s.count) + s
        }
        let inputText = modelDescription.inputDims.map { $0.map(String.init).joined(separator: "x") } ?? "\(inputShape)"
        var lines = ["\(name): input \(modelDescription.inputName) \(inputText)"]
        lines.append(pad("layer", 22) + pad("operation", 34) + pad("output", 14) + padLeft("params", 8))
        for spec in layers {
            let params = spec.parameters.reduce(0) { $0 + $1.count }
            lines.append(
                pad(spec.name, 22) + pad(Architecture.describe(spec), 34) + pad("\(spec.outputShape)", 14)
                    + padLeft(params == 0 ? "-" : grouped(params), 8))
        }
        lines.append("total parameters: \(grouped(parameterCount))")
        return lines.joined(separator: "\n")
    }

    static func describe(_ spec: LayerSpec) -> String {
        let from = spec.inputShapes.first ?? .vector(1)
        switch spec.operation {
        case .conv(let out, let k, let s, let p, _):
            var text = "Conv2d(\(from.channels), \(out), \(k)"
            if s != Size2(square: 1) { text += ", stride \(s)" }
            if p != Size2(square: 0) { text += ", pad \(p)" }
            return text + ")"
        case .groupedConv(let out, let k, let s, let p, let d, let g, _):
            var text = "Conv2d(\(from.channels), \(out), \(k), groups \(g)"
            if s != Size2(square: 1) { text += ", stride \(s)" }
            if p != Size2(square: 0) { text += ", pad \(p)" }
            if d != Size2(square: 1) { text += ", dilation \(d)" }
            return text + ")"
        case .batchNorm: return from.isVector ? "BatchNorm1d(\(from.channels))" : "BatchNorm2d(\(from.channels))"
        case .maxPool(let p), .averagePool(let p):
            var text = (spec.operation.keyword == "maxpool" ? "MaxPool2d(" : "AvgPool2d(") + "\(p.kernel)"
            if p.stride != p.kernel { text += ", stride \(p.stride)" }
            if p.padding != Size2(square: 0) { text += ", pad \(p.padding)" }
            if p.ceil { text += ", ceil" }
            return text + ")"
        case .globalAveragePool: return "AdaptiveAvgPool2d(1)"
        case .globalMaxPool: return "AdaptiveMaxPool2d(1)"
        case .relu: return "ReLU"
        case .activation(let a): return a.keyword
        case .prelu(let perChannel): return perChannel ? "PReLU(\(from.channels))" : "PReLU()"
        case .add: return "Add"
        case .constant: return "Constant"
        case .select(let sources): return "Select (\(sources.count) element\(sources.count == 1 ? "" : "s"))"
        case .selectChannels(let sources): return "Select (\(sources.count) channel\(sources.count == 1 ? "" : "s"))"
        case .mulAdd: return "x * scale + shift"
        case .cosine: return "cos"
        case .sine: return "sin"
        case .gridView(let size): return "Grid \(size.height)x\(size.width)"
        case .matrixProduct(let rows, let inner): return "MatMul([\(rows), \(inner)], x)"
        case .flatten: return "Flatten"
        case .linear(let out, _): return "Linear(\(from.channels), \(out))"
        case .dropout(let p): return "Dropout(\(p))"
        case .dropout2d(let p): return "Dropout2d(\(p))"
        case .resize: return "Resize (bilinear)"
        case .transformGrid(let kind, _, _): return "\(kind.rawValue) grid (\(kind.parameterCount) parameters)"
        case .gridSample(let mode, let padding, _): return "GridSample (\(mode.rawValue), \(padding.rawValue))"
        case .softmax: return "Softmax"
        case .logSoftmax: return "LogSoftmax"
        case .normalize: return "Normalize (mean, std)"
        case .tensor(let operation):
            return "\(operation.keyword) -> " + spec.outputDims.map(String.init).joined(separator: "x")
        }
    }
}

/// 110478 -> "110,478".
func grouped(_ n: Int) -> String {
    let digits = String(n)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return out
}

extension Architecture {
    /// Multiply-adds of one frame in the convolutions and linear layers (the arithmetic that
    /// dominates; a FLOP count is twice this).
    public var multiplyAdds: Int {
        layers.reduce(0) { total, spec in
            switch spec.operation {
            case .conv(_, let kernel, _, _, _):
                return total + spec.outputShape.count * spec.inputShapes[0].channels * kernel.height * kernel.width
            case .groupedConv(_, let kernel, _, _, _, let groups, _):
                return total + spec.outputShape.count * spec.inputShapes[0].channels / groups * kernel.height
                    * kernel.width
            case .linear(let out, _):
                return total + out * spec.inputShapes[0].channels
            default:
                return total
            }
        }
    }
}
