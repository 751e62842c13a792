import ONNXProto
import STNModel
import SwiftProtobuf

/// Maps a fixed-shape, batch-1 ONNX graph onto stn-swift's layer list (docs/model-format.md)
/// and its initializers onto the layers' parameters. Recognised: Conv, BatchNormalization
/// after a Conv, MaxPool / AveragePool without padding, Relu, Reshape / Flatten to a vector,
/// Gemm, (Log)Softmax, Sub / Div by per-channel constants at the input (normalize), bilinear
/// half-pixel Resize, GridSample, AffineGrid and the exporter's decomposed affine grid
/// (Tests/Fixtures/onnx/README.md). Anything else is refused in one line naming the node.
/// The bytes are untrusted: every failure is a thrown `ONNXError`, never a trap.
public enum ONNXImporter {
    /// Converts a serialised `ModelProto`; `name` becomes the description's model name.
    ///
    /// A batch-1 image model whose answer is a vector becomes a version-1 description (the
    /// seed models' layers and fast paths); any other graph a version-2 description of
    /// dense tensors (`TensorGraphImporter`). `boundInputs` gives values to graph inputs
    /// other than the first (a conformance case's test data): they become constants.
    ///
    /// `directory` is the model file's folder, where external data files are read from (nil
    /// for bytes without a file: a model with external data is then refused).
    public static func convert(
        bytes: [UInt8], name: String, directory: String? = nil, boundInputs: [String: [UInt8]] = [:]
    ) throws -> (
        architecture: Architecture, weights: ModelWeights
    ) {
        let model: Onnx_ModelProto
        do {
            model = try Onnx_ModelProto(serializedBytes: bytes)
        } catch {
            throw ONNXError("not a readable ONNX model (truncated or corrupt protobuf: \(error))")
        }
        guard model.hasGraph, !model.graph.node.isEmpty else { throw ONNXError("the ONNX model has no graph nodes") }
        var graph = model.graph
        try ExternalData.resolve(&graph, directory: directory)
        for (inputName, tensorBytes) in boundInputs.sorted(by: { $0.key < $1.key }) {
            var tensor: Onnx_TensorProto
            do {
                tensor = try Onnx_TensorProto(serializedBytes: tensorBytes)
            } catch {
                throw ONNXError("the value of input '\(shown(inputName))' is not a readable TensorProto")
            }
            tensor.name = inputName
            graph.initializer.removeAll { $0.name == inputName }
            graph.initializer.append(tensor)
        }
        let classicError: ONNXError
        do {
            var importer = try GraphImporter(graph, name: name)
            let converted = try importer.run()
            if converted.architecture.outputShape.isVector { return converted }
            // A transformer answering with its rectified image (a TPS rectifier without a head).
            if converted.architecture.layers.contains(where: {
                if case .gridSample = $0.operation { true } else { false }
            }) {
                return converted
            }
            classicError = ONNXError(
                "the graph's answer is a \(converted.architecture.outputShape) map: neither class scores nor "
                    + "a transformer's image (no grid sampler makes it)")
        } catch let error as ONNXError {
            classicError = error
        }
        do {
            var importer = try TensorGraphImporter(graph, name: name)
            return try importer.run()
        } catch let error as ONNXError {
            // An image model that failed at a node, or whose answer is an image: the version-1
            // importer's message, which names the real blocker.
            if classicError.description.hasPrefix("node ") || classicError.description.hasPrefix("the graph's answer") {
                throw classicError
            }
            throw error
        }
    }
}

/// What an ONNX tensor is, in terms of the layer list being built.
private enum Value {
    /// A tensor of the description (the input or a layer's output).
    case tensor(String)
    /// Steps of the exporter's affine grid, over the 6-vector theta `String`.
    case theta(String)
    case thetaTransposed(String)
    case thetaUnsqueezed(String)
    case gridProduct(String, base: String)
    case gridSum(String, base: String)
}

private struct GraphImporter {
    let graph: Onnx_GraphProto
    let name: String
    var constants: ConstantTable
    var values: [String: Value] = [:]
    var layers: [Layer] = []
    var tensors: [String: [Float]] = [:]
    var shapes: [String: TensorShape] = [:]
    var usedNames = Set<String>()
    var usedPrefixes = Set<String>()
    var readers: [String: Int] = [:]
    /// ONNX outputs of Sigmoid nodes and what they read (to recognise SiLU's x * sigmoid(x)).
    var sigmoidInputs: [String: String] = [:]
    /// The ONNX dims of runtime vectors viewed with dims other than [1, N] ([1, 2, 3],
    /// [1, 20, 2], [1, H, W, 2]), by ONNX value name.
    var viewDims: [String: [Int]] = [:]
    var inputName = ""
    var inputShape = TensorShape(channels: 1, height: 1, width: 1)
    /// Where the current node is, for messages.
    var at = ""

    init(_ graph: Onnx_GraphProto, name: String) throws {
        self.graph = graph
        self.name = sanitized(name)
        constants = try ConstantTable(graph)
        for node in graph.node { for input in node.input where !input.isEmpty { readers[input, default: 0] += 1 } }
    }

    func fail(_ message: String) -> ONNXError { ONNXError("\(at): \(message)") }

    mutating func run() throws -> (architecture: Architecture, weights: ModelWeights) {
        try readInput()
        guard graph.node.count <= 4 * ModelDescription.maximumLayers else {
            throw ONNXError("the graph has \(graph.node.count) nodes, more than this importer takes")
        }
        for (index, node) in graph.node.enumerated() {
            at = "node \(index)" + (node.name.isEmpty ? "" : " '\(shown(node.name))'") + " (\(shown(node.opType)))"
            try convert(node)
            guard layers.count <= ModelDescription.maximumLayers else {
                throw fail("the model has more than \(ModelDescription.maximumLayers) layers")
            }
        }
        at = "the graph"
        guard let answer = graph.output.first else { throw fail("has no output") }
        // The first output is the answer; later ones (a model returning (log_probs, theta))
        // must be tensors the model computes: the engine reports every transform's theta.
        for extra in graph.output.dropFirst() where values[extra.name] == nil {
            throw fail("its output '\(shown(extra.name))' is not computed by any node")
        }
        guard let last = layers.last, case .tensor(let out)? = values[answer.name], out == last.output else {
            throw fail("its output '\(shown(answer.name))' is not the last layer's output")
        }
        let description = ModelDescription(name: name, inputName: inputName, input: inputShape, layers: layers)
        do {
            let architecture = try Architecture(description)
            return (architecture, try ModelWeights(architecture: architecture, tensors: tensors))
        } catch {
            throw ONNXError("the converted model is invalid: \(error)")
        }
    }

    mutating func readInput() throws {
        let inputs = graph.input.filter { !constants.contains($0.name) }
        guard inputs.count == 1 else { throw ONNXError("the graph has \(inputs.count) inputs, expected one image") }
        let input = inputs[0]
        let dims = input.type.tensorType.shape.dim.map { dim -> Int? in
            if case .dimValue(let v)? = dim.value, v >= 1, v <= Int64(ModelDescription.maximumDimension) {
                return Int(v)
            }
            return nil
        }
        guard dims.count == 4, dims.allSatisfy({ $0 != nil }), dims[0] == 1 else {
            throw ONNXError(
                "the graph's input '\(shown(input.name))' is not a fixed [1, C, H, W] shape (dynamic or batched shapes are not supported)"
            )
        }
        inputName = unique(sanitized(input.name))
        inputShape = TensorShape(channels: dims[1]!, height: dims[2]!, width: dims[3]!)
        guard inputShape.count <= Architecture.maximumTensorElements else {
            throw ONNXError("the graph's input \(inputShape) is too large")
        }
        values[input.name] = .tensor(inputName)
        shapes[inputName] = inputShape
    }

    mutating func unique(_ base: String) -> String {
        var candidate = base
        var n = 2
        while usedNames.contains(candidate) {
            candidate = "\(base)_\(n)"
            n += 1
        }
        usedNames.insert(candidate)
        return candidate
    }

    /// A description tensor read by the node (not an initializer, not a pending grid step).
    func tensor(_ onnx: String) throws -> (name: String, shape: TensorShape) {
        guard case .tensor(let name)? = values[onnx], let shape = shapes[name] else {
            if values[onnx] != nil { throw fail("reads '\(shown(onnx))' in a way this importer does not support") }
            if constants.contains(onnx) { throw fail("reads the initializer '\(shown(onnx))' as data (not supported)") }
            throw fail("reads '\(shown(onnx))', which no earlier node or initializer provides")
        }
        return (name, shape)
    }

    /// The parameter prefix for a layer whose main initializer is `weight`: its state_dict
    /// prefix when it has one (`convs.0.weight` -> `convs.0`), else `layerN`.
    mutating func prefix(for weight: String) -> String {
        if weight.hasSuffix(".weight") {
            let stem = String(weight.dropLast(7))
            if !stem.isEmpty, sanitized(stem) == stem, !usedPrefixes.contains(stem), !usedNames.contains(stem) {
                usedPrefixes.insert(stem)
                return stem
            }
        }
        var n = layers.count + 1
        while usedPrefixes.contains("layer\(n)") || usedNames.contains("layer\(n)") { n += 1 }
        usedPrefixes.insert("layer\(n)")
        return "layer\(n)"
    }

    /// Appends a layer writing the node's output; `prefix` names the output when free.
    mutating func emit(_ node: Onnx_NodeProto, _ operation: Operation, inputs: [String], prefix: String? = nil) throws {
        let output: String
        if let prefix, !usedNames.contains(prefix) {
            usedNames.insert(prefix)
            output = prefix
        } else {
            output = unique(sanitized(node.output[0]))
        }
        let layer = Layer(
            output, operation, inputs: inputs, parameters: prefix == nil || prefix == output ? nil : prefix)
        layers.append(layer)
        do {
            let architecture = try Architecture(
                ModelDescription(name: name, inputName: inputName, input: inputShape, layers: layers))
            shapes[output] = architecture.shapes[output]
        } catch {
            throw fail("\(error)")
        }
        values[node.output[0]] = .tensor(output)
    }

    mutating func convert(_ node: Onnx_NodeProto) throws {
        guard node.domain.isEmpty || node.domain == "ai.onnx" else {
            throw fail("operator domain '\(shown(node.domain))' is not supported")
        }
        let outputs = node.output.filter { !$0.isEmpty }
        guard node.output.count >= 1, !node.output[0].isEmpty, outputs.count == 1 else {
            throw fail("has \(outputs.count) outputs, expected 1")
        }
        guard values[node.output[0]] == nil, !constants.contains(node.output[0]) else {
            throw fail("writes '\(shown(node.output[0]))', which is already defined")
        }
        let location = at
        func input(_ i: Int) throws -> String {
            guard i < node.input.count, !node.input[i].isEmpty else {
                throw ONNXError("\(location): has no input \(i)")
            }
            return node.input[i]
        }
        func optionalInput(_ i: Int) -> String? { i < node.input.count && !node.input[i].isEmpty ? node.input[i] : nil }
        // What depends only on constants is folded now (shapes, de-duplicated initializers,
        // a TPS grid's matrices); the rest becomes layers.
        let (known, knownShapes) = (values, shapes)
        let runtimeDims = { (onnx: String) -> [Int]? in
            switch known[onnx] {
            case .tensor(let name)?:
                guard let shape = knownShapes[name] else { return nil }
                return shape.isVector ? [1, shape.channels] : [1, shape.channels, shape.height, shape.width]
            case .theta?: return [1, 2, 3]
            default: return nil
            }
        }
        if try constants.fold(node, runtimeDims: runtimeDims, fail: { ONNXError("\(location): \($0)") }) { return }
        if try vectorOperation(node) { return }
        if try channelSelection(node) { return }
        switch node.opType {
        case "Conv": try conv(node, input)
        case "BatchNormalization": try batchNorm(node, input)
        case "MaxPool", "AveragePool": try pool(node, input)
        case "Relu":
            try emit(node, .relu, inputs: [tensor(try input(0)).name])
        case "LeakyRelu":
            try activation(node, input, .leakyReLU(slope: node.float("alpha", 0.01)))
        case "Elu": try activation(node, input, .elu(alpha: node.float("alpha", 1)))
        case "Tanh": try activation(node, input, .tanh)
        case "Sigmoid":
            try activation(node, input, .sigmoid)
            sigmoidInputs[node.output[0]] = try input(0)
        case "HardSigmoid":
            try activation(node, input, .hardSigmoid(alpha: node.float("alpha", 0.2), beta: node.float("beta", 0.5)))
        case "HardSwish": try activation(node, input, .hardSwish)
        case "Gelu":
            guard node.string("approximate", "none") == "none" else {
                throw fail("approximate '\(shown(node.string("approximate", "")))' is not supported (only none)")
            }
            try activation(node, input, .gelu)
        case "Clip": try clip(node, input, optionalInput)
        case "PRelu": try prelu(node, input)
        case "Add": try add(node, input)
        case "GlobalAveragePool", "GlobalMaxPool":
            let x = try tensor(try input(0))
            try emit(node, node.opType == "GlobalMaxPool" ? .globalMaxPool : .globalAveragePool, inputs: [x.name])
        case "ReduceMean", "ReduceMax":
            let x = try tensor(try input(0))
            let axes = try optionalInput(1).map { try constants.ints($0) } ?? node.ints("axes") ?? []
            guard Set(axes.map { $0 < 0 ? $0 + 4 : $0 }) == [2, 3], axes.count == 2 else {
                throw fail("axes \(axes): only the spatial axes [2, 3] of an image tensor are supported")
            }
            try emit(node, node.opType == "ReduceMax" ? .globalMaxPool : .globalAveragePool, inputs: [x.name])
        case "Identity", "Dropout":
            if node.opType == "Dropout", optionalInput(2) != nil { throw fail("training-mode dropout") }
            values[node.output[0]] = .tensor(try tensor(try input(0)).name)
        case "Flatten":
            let x = try tensor(try input(0))
            guard node.int("axis", 1) == 1 else { throw fail("axis \(node.int("axis", 1)), expected 1") }
            try flatten(node, x)
        case "Reshape": try reshape(node, input)
        case "Gemm": try gemm(node, input, optionalInput(2))
        case "Softmax", "LogSoftmax":
            let x = try tensor(try input(0))
            let axis = node.int("axis", -1)
            guard axis == 1 || axis == -1 else { throw fail("axis \(axis), expected 1 or -1") }
            guard x.shape.isVector else { throw fail("over a \(x.shape) map, expected a vector") }
            try emit(node, node.opType == "Softmax" ? .softmax : .logSoftmax, inputs: [x.name])
        case "Sub", "Div": try normalize(node, input)
        case "Resize": try resize(node, input, optionalInput)
        case "GridSample": try gridSample(node, input)
        case "AffineGrid": try affineGrid(node, input)
        case "Transpose":
            guard case .theta(let theta)? = values[try input(0)], node.ints("perm") == [0, 2, 1] else {
                throw fail("unsupported (only theta's transpose in an affine grid)")
            }
            values[node.output[0]] = .thetaTransposed(theta)
        case "Unsqueeze":
            guard case .thetaTransposed(let theta)? = values[try input(0)] else {
                throw fail("unsupported (only in an affine grid)")
            }
            let axes = try optionalInput(1).map { try constants.ints($0) } ?? node.ints("axes") ?? []
            guard axes == [1] || axes == [-3] else { throw fail("axes \(axes), expected [1] in an affine grid") }
            values[node.output[0]] = .thetaUnsqueezed(theta)
        case "Mul":
            let a = try input(0)
            let b = try input(1)
            if sigmoidInputs[b] == a || sigmoidInputs[a] == b {
                // x * sigmoid(x), the exporters' form of SiLU: one layer, and the sigmoid
                // goes when nothing else reads it.
                let sigmoid = sigmoidInputs[b] == a ? b : a
                let x = try tensor(sigmoidInputs[sigmoid]!)
                if readers[sigmoid] == 1, case .tensor(let name)? = values[sigmoid] {
                    layers.removeAll { $0.output == name }
                }
                try emit(node, .activation(.silu), inputs: [x.name])
            } else if case .thetaUnsqueezed(let theta)? = values[b], constants.contains(a) {
                values[node.output[0]] = .gridProduct(theta, base: a)
            } else if case .thetaUnsqueezed(let theta)? = values[a], constants.contains(b) {
                values[node.output[0]] = .gridProduct(theta, base: b)
            } else {
                throw fail("unsupported (only the base grid times theta in an affine grid)")
            }
        case "ReduceSum":
            guard case .gridProduct(let theta, let base)? = values[try input(0)] else {
                throw fail("unsupported (only in an affine grid)")
            }
            let axes = try optionalInput(1).map { try constants.ints($0) } ?? node.ints("axes") ?? []
            guard axes == [2] || axes == [-2], node.int("keepdims", 1) == 0 else {
                throw fail("axes \(axes) keepdims \(node.int("keepdims", 1)), expected [2] and 0 in an affine grid")
            }
            values[node.output[0]] = .gridSum(theta, base: base)
        default:
            throw fail("unsupported operator")
        }
    }

    mutating func conv(_ node: Onnx_NodeProto, _ input: (Int) throws -> String) throws {
        let x = try tensor(try input(0))
        let weightName = try input(1)
        let weight = try constants.floats(weightName)
        let groupCount = max(node.int("group", 1), 1)
        guard weight.dims.count == 4, weight.dims[1] * groupCount == x.shape.channels,
            weight.dims.allSatisfy({ $0 >= 1 })
        else {
            throw fail("weight \(weight.dims), expected [out, \(x.shape.channels / groupCount), kh, kw]")
        }
        let (out, kh, kw) = (weight.dims[0], weight.dims[2], weight.dims[3])
        let groups = node.int("group", 1)
        let dilations = node.ints("dilations") ?? [1, 1]
        guard groups >= 1, x.shape.channels % groups == 0, out % groups == 0 else {
            throw fail("group \(groups) does not divide \(x.shape.channels) input and \(out) output channels")
        }
        guard dilations.count == 2, dilations.allSatisfy({ $0 >= 1 && $0 <= ModelDescription.maximumDimension }) else {
            throw fail("dilations \(dilations)")
        }
        let autoPad = node.string("auto_pad", "NOTSET")
        guard autoPad == "NOTSET" else { throw fail("auto_pad \(autoPad) is not supported") }
        if let kernel = node.ints("kernel_shape"), kernel != [kh, kw] {
            throw fail("kernel_shape \(kernel) does not match the weight \(weight.dims)")
        }
        let strides = node.ints("strides") ?? [1, 1]
        let pads = node.ints("pads") ?? [0, 0, 0, 0]
        guard strides.count == 2, strides.allSatisfy({ $0 >= 1 && $0 <= ModelDescription.maximumDimension }) else {
            throw fail("strides \(strides)")
        }
        guard pads.count == 4, pads.allSatisfy({ $0 >= 0 && $0 <= ModelDescription.maximumDimension }) else {
            throw fail("pads \(pads)")
        }
        guard pads[0] == pads[2], pads[1] == pads[3] else {
            throw fail("asymmetric pads \(pads) are not supported")
        }
        let biasName = node.input.count > 2 && !node.input[2].isEmpty ? node.input[2] : nil
        let prefix = prefix(for: weightName)
        if let biasName {
            let bias = try constants.floats(biasName)
            guard bias.count == out else { throw fail("bias has \(bias.count) values, expected \(out)") }
            tensors[prefix + ".bias"] = bias.floats
        }
        tensors[prefix + ".weight"] = weight.floats
        let (kernel, stride, padding) = (Size2(kh, kw), Size2(strides[0], strides[1]), Size2(pads[0], pads[1]))
        let operation: Operation =
            groups == 1 && dilations == [1, 1]
            ? .conv(outChannels: out, kernel: kernel, stride: stride, padding: padding, bias: biasName != nil)
            : .groupedConv(
                outChannels: out, kernel: kernel, stride: stride, padding: padding,
                dilation: Size2(dilations[0], dilations[1]), groups: groups, bias: biasName != nil)
        try emit(node, operation, inputs: [x.name], prefix: prefix)
    }

    mutating func batchNorm(_ node: Onnx_NodeProto, _ input: (Int) throws -> String) throws {
        let x = try tensor(try input(0))
        guard node.int("training_mode", 0) == 0 else { throw fail("training mode is not supported") }
        let c = x.shape.channels
        let names = try (1 ... 4).map { try input($0) }
        let parts = try names.map { try constants.floats($0) }
        for (name, part) in zip(names, parts) where part.count != c {
            throw fail("'\(shown(name))' has \(part.count) values, expected \(c)")
        }
        let prefix = prefix(for: names[0])
        for (suffix, part) in zip(["weight", "bias", "running_mean", "running_var"], parts) {
            tensors[prefix + "." + suffix] = part.floats
        }
        let epsilon = node.float("epsilon", 1e-5)
        guard epsilon.isFinite, epsilon >= 0 else { throw fail("epsilon \(epsilon)") }
        try emit(node, .batchNorm(epsilon: epsilon), inputs: [x.name], prefix: prefix)
    }

    mutating func pool(_ node: Onnx_NodeProto, _ input: (Int) throws -> String) throws {
        let x = try tensor(try input(0))
        guard let kernel = node.ints("kernel_shape"), kernel.count == 2,
            kernel.allSatisfy({ $0 >= 1 && $0 <= ModelDescription.maximumDimension })
        else { throw fail("kernel_shape \(node.ints("kernel_shape") ?? [])") }
        let strides = node.ints("strides") ?? [1, 1]
        guard strides.count == 2, strides.allSatisfy({ $0 >= 1 && $0 <= ModelDescription.maximumDimension }) else {
            throw fail("strides \(strides)")
        }
        let pads = node.ints("pads") ?? [0, 0, 0, 0]
        guard pads.count == 4, pads.allSatisfy({ $0 >= 0 && $0 <= ModelDescription.maximumDimension }) else {
            throw fail("pads \(pads)")
        }
        guard pads[0] == pads[2], pads[1] == pads[3] else { throw fail("asymmetric pads \(pads) are not supported") }
        guard node.string("auto_pad", "NOTSET") == "NOTSET" else { throw fail("auto_pad is not supported") }
        guard (node.ints("dilations") ?? [1, 1]).allSatisfy({ $0 == 1 }) else {
            throw fail("dilation is not supported")
        }
        guard node.int("storage_order", 0) == 0 else { throw fail("storage_order 1 is not supported") }
        var pooling = Pooling(
            kernel: Size2(kernel[0], kernel[1]), stride: Size2(strides[0], strides[1]),
            padding: Size2(pads[0], pads[1]),
            ceil: node.int("ceil_mode", 0) != 0)
        // Only a padded or ceil-mode average has windows reaching outside the input.
        if node.opType == "AveragePool", !pooling.isPlain {
            pooling.countIncludePad = node.int("count_include_pad", 0) != 0
        }
        try emit(node, node.opType == "MaxPool" ? .maxPool(pooling) : .averagePool(pooling), inputs: [x.name])
    }

    /// The ONNX dims of a runtime vector (the input's batch of 1 first), or nil for a map or
    /// anything else.
    func vectorDims(_ onnx: String) -> [Int]? {
        guard case .tensor(let name)? = values[onnx], let shape = shapes[name], shape.isVector else { return nil }
        return viewDims[onnx] ?? [1, shape.channels]
    }

    /// Re-checks the layers built so far and records the last one's shape.
    mutating func check() throws {
        do {
            let architecture = try Architecture(
                ModelDescription(name: name, inputName: inputName, input: inputShape, layers: layers))
            if let last = layers.last { shapes[last.output] = architecture.shapes[last.output] }
        } catch {
            throw fail("\(error)")
        }
    }

    /// A constant as a `constant` layer (its values a fixed parameter); returns the layer.
    mutating func constantLayer(_ onnx: String) throws -> String {
        let value = try constants.floats(onnx)
        let output = unique(sanitized(onnx) + "_value")
        tensors[output + ".value"] = value.floats
        layers.append(Layer(output, .constant(count: max(value.count, 1)), inputs: []))
        try check()
        return output
    }

    /// Operations on the small runtime vectors a transform's parameters are built from:
    /// element selections (Gather, Slice, Concat, Transpose, Expand, Tile, and views:
    /// Reshape, Unsqueeze, Squeeze, Flatten), arithmetic with constants, Neg, Cos, Sin, and a
    /// constant matrix times a vector (MatMul, a TPS grid). False when the node is not one.
    mutating func vectorOperation(_ node: Onnx_NodeProto) throws -> Bool {
        let inputs = node.input.filter { !$0.isEmpty }
        guard let out = node.output.first, let first = inputs.first else { return false }
        let dataInputs: [String]
        switch node.opType {
        case "Concat": dataInputs = inputs
        case "Gather", "Slice", "Transpose", "Expand", "Tile", "Unsqueeze", "Squeeze", "Reshape", "Flatten":
            dataInputs = [first]
        case "Mul", "Add", "Sub", "Div":
            return try arithmetic(node, inputs)
        case "Neg", "Cos", "Sin":
            guard let dims = vectorDims(first), case .tensor(let x)? = values[first] else { return false }
            let operation: Operation =
                node.opType == "Neg" ? .mulAdd : node.opType == "Cos" ? .cosine : .sine
            let output = unique(sanitized(out))
            if node.opType == "Neg" {
                let count = dims.reduce(1, *)
                tensors[output + ".scale"] = [Float](repeating: -1, count: count)
                tensors[output + ".shift"] = [Float](repeating: 0, count: count)
            }
            layers.append(Layer(output, operation, inputs: [x]))
            try check()
            values[out] = .tensor(output)
            viewDims[out] = dims
            return true
        case "MatMul":
            guard inputs.count == 2, constants.contains(inputs[0]), let dims = vectorDims(inputs[1]),
                case .tensor(let x)? = values[inputs[1]]
            else { return false }
            let matrix = try constants.floats(inputs[0])
            let batch = matrix.dims.dropLast(2)
            guard matrix.dims.count >= 2, batch.allSatisfy({ $0 == 1 }), dims.count >= 2 else {
                throw fail("MatMul of \(matrix.dims) by \(dims): only a constant matrix times a vector's matrix")
            }
            let (rows, inner) = (matrix.dims[matrix.dims.count - 2], matrix.dims[matrix.dims.count - 1])
            guard dims[dims.count - 2] == inner else { throw fail("MatMul of \(matrix.dims) by \(dims)") }
            let output = unique(sanitized(out))
            tensors[output + ".matrix"] = matrix.floats
            layers.append(Layer(output, .matrixProduct(rows: rows, inner: inner), inputs: [x]))
            try check()
            values[out] = .tensor(output)
            viewDims[out] = Array(dims.dropLast(2)) + [rows, dims[dims.count - 1]]
            return true
        default:
            return false
        }
        // An element selection: only when some data input is a runtime vector and every other
        // data input is a vector or a constant.
        guard dataInputs.contains(where: { vectorDims($0) != nil }),
            dataInputs.allSatisfy({ vectorDims($0) != nil || constants.contains($0) })
        else { return false }
        // Run the node on index tensors: each data element's value names its source,
        // input * 2^24 + element, and the folder moves them as the node moves values.
        var sources: [String] = []
        var scratch = constants
        for name in dataInputs {
            let dims: [Int]
            let layer: String
            if let known = vectorDims(name) {
                dims = known
                guard case .tensor(let tensor)? = values[name] else { return false }
                layer = tensor
            } else {
                dims = try constants.dims(name).dims
                layer = try constantLayer(name)
            }
            // A tensor read twice is one input of the selection.
            if !sources.contains(layer) { sources.append(layer) }
            let k = Double(sources.firstIndex(of: layer)!) * 16_777_216
            let count = dims.reduce(1, *)
            scratch[name] = FoldedConstant(dims: dims, values: (0 ..< count).map { k + Double($0) }, isInteger: true)
        }
        let location = at
        guard try scratch.fold(node, runtimeDims: { _ in nil }, fail: { ONNXError("\(location): \($0)") }),
            let result = scratch[out]
        else { return false }
        // theta's view as [1, 2, 3] feeds an affine grid: the importer's grid patterns take it.
        if node.opType == "Reshape", result.dims == [1, 2, 3], sources.count == 1 { return false }
        let picks = result.values.map { ElementSource(input: Int($0) / 16_777_216, element: Int($0) % 16_777_216) }
        if sources.count == 1, picks.enumerated().allSatisfy({ $0.element.element == $0.offset }),
            picks.count == shapes[sources[0]]?.count
        {
            // The same values in the same order: a view.
            values[out] = .tensor(sources[0])
        } else {
            let output = unique(sanitized(out))
            layers.append(Layer(output, .select(sources: picks), inputs: sources))
            try check()
            values[out] = .tensor(output)
        }
        viewDims[out] = result.dims.isEmpty ? [1] : result.dims
        if result.dims == [1, 2, 3], case .tensor(let theta)? = values[out] {
            // An affine transform's matrix assembled from parts (a rotation, a translation):
            // the affine grid patterns take it as theta.
            values[out] = .theta(theta)
        }
        return true
    }

    /// Whole channels of runtime maps of one size: Concat along channels, Slice or Gather (with
    /// a list of indices) of channels (`torch.cat([a, b], 1)`, `x[:, 1:2]`, `x[:, [1]]`) become a
    /// `select` of channels. As for vectors, the node runs on index tensors (each value names
    /// its input and element), and the result must be whole channels, pixel for pixel. False
    /// when the node is not one.
    mutating func channelSelection(_ node: Onnx_NodeProto) throws -> Bool {
        guard ["Concat", "Slice", "Gather"].contains(node.opType), let out = node.output.first,
            let first = node.input.first
        else { return false }
        let dataInputs = node.opType == "Concat" ? node.input.filter { !$0.isEmpty } : [first]
        var maps: [(layer: String, shape: TensorShape)] = []
        for name in dataInputs {
            guard case .tensor(let layer)? = values[name], let shape = shapes[layer], !shape.isVector else {
                return false
            }
            maps.append((layer, shape))
        }
        guard let firstMap = maps.first else { return false }
        let (height, width) = (firstMap.shape.height, firstMap.shape.width)
        guard maps.allSatisfy({ $0.shape.height == height && $0.shape.width == width }) else { return false }
        var sources: [String] = []
        var scratch = constants
        for (name, map) in zip(dataInputs, maps) {
            // A tensor read twice is one input of the selection.
            if !sources.contains(map.layer) { sources.append(map.layer) }
            let k = Double(sources.firstIndex(of: map.layer)!) * 16_777_216
            scratch[name] = FoldedConstant(
                dims: [1, map.shape.channels, height, width], values: (0 ..< map.shape.count).map { k + Double($0) },
                isInteger: true)
        }
        let location = at
        guard try scratch.fold(node, runtimeDims: { _ in nil }, fail: { ONNXError("\(location): \($0)") }),
            let result = scratch[out]
        else { return false }
        let pixels = height * width
        func notChannels() -> ONNXError {
            fail("\(node.opType) of maps to \(result.dims): only whole channels of [1, C, H, W] maps are supported")
        }
        guard result.dims.count == 4, result.dims[0] == 1, result.dims[2] == height, result.dims[3] == width else {
            throw notChannels()
        }
        var picks: [ElementSource] = []
        for c in 0 ..< result.dims[1] {
            let start = Int(result.values[c * pixels])
            let (input, element) = (start / 16_777_216, start % 16_777_216)
            guard element % pixels == 0,
                (0 ..< pixels).allSatisfy({ Int(result.values[c * pixels + $0]) == start + $0 })
            else { throw notChannels() }
            picks.append(ElementSource(input: input, element: element / pixels))
        }
        if sources.count == 1, picks.count == shapes[sources[0]]?.channels,
            picks.enumerated().allSatisfy({ $0.element.element == $0.offset })
        {
            // Every channel in order: a view.
            values[out] = .tensor(sources[0])
            return true
        }
        let output = unique(sanitized(out))
        layers.append(Layer(output, .selectChannels(sources: picks), inputs: sources))
        try check()
        values[out] = .tensor(output)
        return true
    }

    /// A runtime vector with a constant (Mul, Add, Sub, Div, either side but Div's right):
    /// x * scale + shift per element.
    mutating func arithmetic(_ node: Onnx_NodeProto, _ inputs: [String]) throws -> Bool {
        guard inputs.count == 2 else { return false }
        let (a, b) = (inputs[0], inputs[1])
        let vectorFirst = vectorDims(a) != nil && constants.contains(b)
        guard vectorFirst || (vectorDims(b) != nil && constants.contains(a)) else { return false }
        let (x, c) = vectorFirst ? (a, b) : (b, a)
        guard case .tensor(let layer)? = values[x], let dims = vectorDims(x) else { return false }
        let constant = try constants[c].map { $0 } ?? { throw fail("missing constant") }()
        guard (try? broadcast(dims, constant.dims)) == dims || dims.reduce(1, *) == 1 && constant.count == 1 else {
            throw fail("\(node.opType) of \(dims) by a constant \(constant.dims): the constant would grow the vector")
        }
        let values = try broadcastValues(constant, to: dims) { fail($0) }.values.map { Float($0) }
        let count = values.count
        var scale = [Float](repeating: 1, count: count)
        var shift = [Float](repeating: 0, count: count)
        switch (node.opType, vectorFirst) {
        case ("Mul", _): scale = values
        case ("Add", _): shift = values
        case ("Sub", true): shift = values.map { -$0 }
        case ("Sub", false):
            scale = [Float](repeating: -1, count: count)
            shift = values
        case ("Div", true):
            guard values.allSatisfy({ $0 != 0 }) else { throw fail("division by a constant holding zero") }
            scale = values.map { 1 / $0 }
        default:
            throw fail("a constant divided by a runtime vector is not supported")
        }
        let output = unique(sanitized(node.output[0]))
        tensors[output + ".scale"] = scale
        tensors[output + ".shift"] = shift
        layers.append(Layer(output, .mulAdd, inputs: [layer]))
        try check()
        self.values[node.output[0]] = .tensor(output)
        viewDims[node.output[0]] = dims
        return true
    }

    mutating func activation(_ node: Onnx_NodeProto, _ input: (Int) throws -> String, _ activation: Activation)
        throws
    {
        try emit(node, .activation(activation), inputs: [tensor(try input(0)).name])
    }

    /// Clip to constant bounds (inputs from opset 11, attributes before): ReLU for [0, inf),
    /// else `clip` (ReLU6 is [0, 6]).
    mutating func clip(
        _ node: Onnx_NodeProto, _ input: (Int) throws -> String, _ optionalInput: (Int) -> String?
    ) throws {
        let x = try tensor(try input(0))
        func bound(_ i: Int, _ attribute: String, _ fallback: Float) throws -> Float {
            guard let name = optionalInput(i) else { return node.float(attribute, fallback) }
            let value = try constants.floats(name)
            guard value.count == 1 else { throw fail("'\(shown(name))' is not a scalar bound") }
            return value.floats[0]
        }
        let low = try bound(1, "min", -.infinity)
        let high = try bound(2, "max", .infinity)
        guard !low.isNaN, !high.isNaN, low <= high else { throw fail("bounds [\(low), \(high)]") }
        if low == 0, high == .infinity { return try emit(node, .relu, inputs: [x.name]) }
        let clamp = { (v: Float) in min(max(v, -Float.greatestFiniteMagnitude), Float.greatestFiniteMagnitude) }
        try emit(node, .activation(.clip(min: clamp(low), max: clamp(high))), inputs: [x.name])
    }

    /// PRelu by a constant slope: one for all channels, or one per channel ([C], [C, 1, 1]).
    mutating func prelu(_ node: Onnx_NodeProto, _ input: (Int) throws -> String) throws {
        let x = try tensor(try input(0))
        let slopeName = try input(1)
        let slope = try constants.floats(slopeName)
        let c = x.shape.channels
        let perChannel = slope.count == c && c > 1
        guard slope.count == 1 || (perChannel && slope.dims.filter({ $0 != 1 }) == [c]) else {
            throw fail("slope \(slope.dims) is neither one value nor one per channel of \(x.shape)")
        }
        let prefix = prefix(for: slopeName)
        tensors[prefix + ".weight"] = slope.floats
        try emit(node, .prelu(perChannel: perChannel), inputs: [x.name], prefix: prefix)
    }

    /// The sum of two tensors of the same shape (a residual connection).
    mutating func add(_ node: Onnx_NodeProto, _ input: (Int) throws -> String) throws {
        let a = try tensor(try input(0))
        let b = try tensor(try input(1))
        guard a.shape == b.shape else { throw fail("Add of \(a.shape) and \(b.shape): broadcasting is not supported") }
        try emit(node, .add, inputs: [a.name, b.name])
    }

    mutating func flatten(_ node: Onnx_NodeProto, _ x: (name: String, shape: TensorShape)) throws {
        if x.shape.isVector {
            values[node.output[0]] = .tensor(x.name)
        } else {
            try emit(node, .flatten, inputs: [x.name])
        }
    }

    mutating func reshape(_ node: Onnx_NodeProto, _ input: (Int) throws -> String) throws {
        let source = try input(0)
        let requested = try constants.ints(try input(1))
        let allowZero = node.int("allowzero", 0) != 0
        /// The target with 0 (copy, unless allowzero) and -1 (the rest) resolved.
        func resolve(_ dims: [Int]) throws -> [Int] {
            let total = dims.reduce(1, *)
            var target = requested
            for (i, d) in target.enumerated() where d == 0 && !allowZero {
                guard i < dims.count else { throw fail("shape \(requested) copies a dimension that is not there") }
                target[i] = dims[i]
            }
            let known = target.filter { $0 != -1 }
            guard target.count - known.count <= 1, known.allSatisfy({ $0 >= 0 && $0 <= total }) else {
                throw fail("shape \(requested) is not a valid reshape target")
            }
            // Every known entry is at most `total`: multiply without overflow, stopping past it.
            func product(_ values: [Int]) -> Int? {
                var p = 1
                for v in values {
                    let (next, overflow) = p.multipliedReportingOverflow(by: v)
                    guard !overflow, next <= total else { return nil }
                    p = next
                }
                return p
            }
            if let free = target.firstIndex(of: -1) {
                guard let known = product(known), known > 0, total % known == 0 else {
                    throw fail("shape \(requested) does not fit \(dims)")
                }
                target[free] = total / known
            }
            guard product(target) == total else { throw fail("shape \(requested) does not fit \(dims)") }
            return target
        }
        switch values[source] {
        case .tensor(let name)?:
            let shape = shapes[name]!
            let target = try resolve(
                shape.isVector ? [1, shape.channels] : [1, shape.channels, shape.height, shape.width])
            if target == [1, 2, 3], shape == .vector(6) {
                values[node.output[0]] = .theta(name)
                return
            }
            guard target.count == 2, target[0] == 1 else {
                throw fail("reshape of \(shape) to \(target): only [1, N] (flatten) is supported")
            }
            try flatten(node, (name, shape))
        case .gridSum(let theta, let base)?:
            let rows = try constants.dims(base)
            let target = try resolve([1, rows.dims.first ?? 0, 2])
            guard target.count == 4, target[0] == 1, target[3] == 2, target[1] >= 1, target[2] >= 1,
                target[1] <= ModelDescription.maximumDimension, target[2] <= ModelDescription.maximumDimension,
                rows.dims == [target[1] * target[2], 3, 1]
            else {
                throw fail("affine grid reshape to \(target) does not match the base grid \(rows.dims)")
            }
            let alignCorners = try baseGridAlignCorners(base, height: target[1], width: target[2])
            try emit(
                node, .transformGrid(.affine, size: Size2(target[1], target[2]), alignCorners: alignCorners),
                inputs: [theta])
        default:
            _ = try tensor(source)
        }
    }

    /// Which align_corners the exporter's base grid [H*W, 3, 1] (rows x, y, 1) was made with.
    func baseGridAlignCorners(_ base: String, height: Int, width: Int) throws -> Bool {
        let grid = try constants.floats(base).floats
        func coordinate(_ i: Int, _ n: Int, _ align: Bool) -> Float {
            let t: Float = n == 1 ? 0 : -1 + 2 * Float(i) / Float(n - 1)
            return align ? t : t * Float(n - 1) / Float(n)
        }
        for align in [false, true] {
            var matches = true
            outer: for y in 0 ..< height {
                for x in 0 ..< width {
                    let row = (y * width + x) * 3
                    if abs(grid[row] - coordinate(x, width, align)) > 1e-5
                        || abs(grid[row + 1] - coordinate(y, height, align)) > 1e-5 || grid[row + 2] != 1
                    {
                        matches = false
                        break outer
                    }
                }
            }
            if matches { return align }
        }
        throw fail("the base grid '\(shown(base))' is not an affine_grid base grid (for either align_corners)")
    }

    mutating func gemm(_ node: Onnx_NodeProto, _ input: (Int) throws -> String, _ biasName: String?) throws {
        let x = try tensor(try input(0))
        guard x.shape.isVector else { throw fail("Gemm of a \(x.shape) map: flatten it first") }
        guard node.int("transA", 0) == 0, node.float("alpha", 1) == 1, node.float("beta", 1) == 1 else {
            throw fail("only transA=0, alpha=1, beta=1 are supported")
        }
        let weightName = try input(1)
        let weight = try constants.floats(weightName)
        let transB = node.int("transB", 0) != 0
        guard weight.dims.count == 2, weight.dims[transB ? 1 : 0] == x.shape.channels else {
            throw fail("weight \(weight.dims) does not fit \(x.shape.channels) inputs (transB=\(transB ? 1 : 0))")
        }
        let out = weight.dims[transB ? 0 : 1]
        guard out >= 1 else { throw fail("weight \(weight.dims) has no outputs") }
        var values = weight.floats
        if !transB {
            let n = x.shape.channels
            values = (0 ..< out * n).map { i in weight.floats[(i % n) * out + i / n] }
        }
        let prefix = prefix(for: weightName)
        tensors[prefix + ".weight"] = values
        if let biasName {
            let bias = try constants.floats(biasName)
            guard bias.count == out, bias.dims.last == out else {
                throw fail("bias \(bias.dims), expected [\(out)] (broadcast biases are not supported)")
            }
            tensors[prefix + ".bias"] = bias.floats
        }
        try emit(node, .linear(outFeatures: out, bias: biasName != nil), inputs: [x.name], prefix: prefix)
    }

    mutating func normalize(_ node: Onnx_NodeProto, _ input: (Int) throws -> String) throws {
        let source = try input(0)
        let x = try tensor(source)
        let constantName = try input(1)
        guard constants.contains(constantName) else {
            throw fail("\(node.opType) of two tensors is not supported (only by per-channel constants at the input)")
        }
        let constant = try constants.floats(constantName)
        let c = x.shape.channels
        let trimmed = Array(constant.dims.drop { $0 == 1 })
        guard constant.count == 1 || (constant.count == c && trimmed == [c, 1, 1] && constant.dims.count <= 4) else {
            throw fail("'\(shown(constantName))' \(constant.dims) is not a per-channel constant for \(c) channels")
        }
        if node.opType == "Div", let zero = constant.floats.first(where: { $0 == 0 }) {
            throw fail("divides by \(zero)")
        }
        // Merge into the normalize layer just before when nothing else reads its output.
        if let last = layers.last, last.output == x.name, case .normalize(var mean, var std) = last.operation,
            readers[source] == 1
        {
            let k = constant.floats
            let n = max(mean.count, std.count, k.count)
            func at(_ a: [Float], _ i: Int) -> Float { a.count == 1 ? a[0] : a[i] }
            if node.opType == "Sub" {
                mean = (0 ..< n).map { at(mean, $0) + at(k, $0) * at(std, $0) }
                std = (0 ..< n).map { at(std, $0) }
            } else {
                mean = (0 ..< n).map { at(mean, $0) }
                std = (0 ..< n).map { at(std, $0) * at(k, $0) }
            }
            layers[layers.count - 1].operation = .normalize(mean: mean, std: std)
            values[node.output[0]] = .tensor(x.name)
            return
        }
        guard x.name == inputName else {
            throw fail("\(node.opType) by a constant is supported only at the input (as normalize)")
        }
        let operation: Operation =
            node.opType == "Sub"
            ? .normalize(mean: constant.floats, std: [Float](repeating: 1, count: constant.count))
            : .normalize(mean: [Float](repeating: 0, count: constant.count), std: constant.floats)
        try emit(node, operation, inputs: [x.name])
    }

    mutating func resize(
        _ node: Onnx_NodeProto, _ input: (Int) throws -> String, _ optionalInput: (Int) -> String?
    ) throws {
        let x = try tensor(try input(0))
        guard node.string("mode", "nearest") == "linear" else {
            throw fail("mode '\(shown(node.string("mode", "nearest")))', only linear is supported")
        }
        let transform = node.string("coordinate_transformation_mode", "half_pixel")
        guard transform == "half_pixel" || transform == "pytorch_half_pixel" && x.shape.height > 1 else {
            throw fail("coordinate_transformation_mode '\(shown(transform))', only half_pixel is supported")
        }
        guard node.int("antialias", 0) == 0, node.int("exclude_outside", 0) == 0, node.ints("axes") == nil else {
            throw fail("antialias, exclude_outside and axes are not supported")
        }
        let policy = node.string("keep_aspect_ratio_policy", "stretch")
        guard policy == "stretch" else { throw fail("keep_aspect_ratio_policy '\(shown(policy))'") }
        let (h, w) = (x.shape.height, x.shape.width)
        let operation: Operation
        if let scalesName = optionalInput(2) {
            let scales = try constants.floats(scalesName).floats
            guard scales.count == 4, scales[0] == 1, scales[1] == 1, scales[2] > 0, scales[3] > 0 else {
                throw fail("scales \(scales), expected [1, 1, sh, sw]")
            }
            let size = (Double(h) * Double(scales[2]), Double(w) * Double(scales[3]))
            guard size.0 >= 1, size.1 >= 1, size.0 <= Double(ModelDescription.maximumDimension),
                size.1 <= Double(ModelDescription.maximumDimension)
            else { throw fail("scales \(scales) give \(size.0)x\(size.1)") }
            if scales[2] == scales[3], Int(Float(h) * scales[2]) == Int(size.0.rounded(.down)),
                Int(Float(w) * scales[3]) == Int(size.1.rounded(.down))
            {
                operation = .resize(size: Size2(square: 0), scale: scales[2], alignCorners: false)
            } else if size.0 == size.0.rounded(), size.1 == size.1.rounded() {
                operation = .resize(size: Size2(Int(size.0), Int(size.1)), scale: nil, alignCorners: false)
            } else {
                throw fail("scales \(scales) give fractional sizes with different steps (not supported)")
            }
        } else if let sizesName = optionalInput(3) {
            let sizes = try constants.ints(sizesName)
            guard sizes.count == 4, sizes[0] == 1, sizes[1] == x.shape.channels,
                (1 ... ModelDescription.maximumDimension).contains(sizes[2]),
                (1 ... ModelDescription.maximumDimension).contains(sizes[3])
            else { throw fail("sizes \(sizes), expected [1, \(x.shape.channels), H, W]") }
            operation = .resize(size: Size2(sizes[2], sizes[3]), scale: nil, alignCorners: false)
        } else {
            throw fail("has neither scales nor sizes")
        }
        try emit(node, operation, inputs: [x.name])
    }

    mutating func gridSample(_ node: Onnx_NodeProto, _ input: (Int) throws -> String) throws {
        let x = try tensor(try input(0))
        var grid = try tensor(try input(1))
        if grid.shape.isVector, let dims = vectorDims(try input(1)), dims.count == 4, dims[0] == 1, dims[3] == 2 {
            // A grid the model computes (a TPS grid): its values read as [H, W, 2].
            let view = unique(grid.name + "_grid")
            layers.append(Layer(view, .gridView(size: Size2(dims[1], dims[2])), inputs: [grid.name]))
            try check()
            grid = (view, TensorShape(channels: 2, height: dims[1], width: dims[2]))
        }
        let (mode, padding) = try node.gridSampleOptions().mapError { fail($0.message) }.get()
        try emit(
            node, .gridSample(mode: mode, padding: padding, alignCorners: node.int("align_corners", 0) != 0),
            inputs: [x.name, grid.name])
    }

    mutating func affineGrid(_ node: Onnx_NodeProto, _ input: (Int) throws -> String) throws {
        guard case .theta(let theta)? = values[try input(0)] else {
            throw fail("theta must be a [1, 2, 3] reshape of a 6-value layer output")
        }
        let size = try constants.ints(try input(1))
        guard size.count == 4, size[0] == 1, (1 ... ModelDescription.maximumDimension).contains(size[2]),
            (1 ... ModelDescription.maximumDimension).contains(size[3])
        else { throw fail("size \(size), expected [1, C, H, W]") }
        try emit(
            node,
            .transformGrid(.affine, size: Size2(size[2], size[3]), alignCorners: node.int("align_corners", 0) != 0),
            inputs: [theta])
    }
}
