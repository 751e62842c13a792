import ONNXProto
import STNModel

/// Maps an ONNX graph onto a version-2 description (dense tensors of rank 1 to 4, every
/// dimension fixed): each runtime node becomes one layer, each constant it reads (an
/// initializer, a bound graph input, a Constant node) a `constant` layer, and shape
/// arithmetic (Shape, Gather, Unsqueeze, Concat, Cast, Constant) is folded at the fixed
/// input shape. Anything else is refused in one line naming the node and the operator.
struct TensorGraphImporter {
    let graph: Onnx_GraphProto
    let name: String
    var constants: ConstantTable
    /// Runtime tensors: ONNX name to the description's name and dims.
    var runtime: [String: (name: String, dims: [Int])] = [:]
    var layers: [Layer] = []
    var parameters: [String: [Float]] = [:]
    var usedNames = Set<String>()
    var inputName = ""
    var inputDims: [Int] = []
    var at = ""

    init(_ graph: Onnx_GraphProto, name: String) throws {
        self.graph = graph
        self.name = sanitized(name)
        constants = try ConstantTable(graph)
    }

    func fail(_ message: String) -> ONNXError { ONNXError("\(at): \(message)") }

    mutating func run() throws -> (architecture: Architecture, weights: ModelWeights) {
        let inputs = graph.input.filter { constants[$0.name] == nil }
        guard let input = inputs.first else { throw ONNXError("the graph has no input that is not a constant") }
        if inputs.count > 1 {
            throw ONNXError(
                "the graph input '\(shown(inputs[1].name))' has no value (only one runtime input is supported)")
        }
        let dims = input.type.tensorType.shape.dim.map { dim -> Int in
            if case .dimValue(let v)? = dim.value, v >= 1, v <= Int64(ModelDescription.maximumDimension) {
                return Int(v)
            }
            return 0
        }
        guard checkedDims(dims) else {
            throw ONNXError(
                "the graph's input '\(shown(input.name))' is not a fixed shape of rank 1 to 4 (dynamic shapes are not supported)"
            )
        }
        inputName = unique(sanitized(input.name))
        inputDims = dims
        runtime[input.name] = (inputName, dims)
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
        guard graph.output.count == 1 else { throw fail("has \(graph.output.count) outputs, expected 1") }
        let output = try tensor(graph.output[0].name)
        if layers.last?.output != output.name {
            // The answer is the last layer's output: end with an alias of the graph's output.
            try emit(graph.output[0].name + "_output", .reshape(dims: output.dims), [output.name])
        }
        var description = ModelDescription(name: name, inputName: inputName, inputDims: inputDims, layers: layers)
        description.inputDims = inputDims
        do {
            let architecture = try Architecture(description)
            return (architecture, try ModelWeights(architecture: architecture, tensors: parameters))
        } catch {
            throw ONNXError("the converted model is invalid: \(error)")
        }
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

    /// A tensor of the description for an ONNX name: a runtime tensor, or a constant that
    /// becomes a `constant` layer the first time a runtime node reads it.
    mutating func tensor(_ onnx: String) throws -> (name: String, dims: [Int]) {
        if let known = runtime[onnx] { return known }
        guard let constant = constants[onnx] else {
            throw fail("reads '\(shown(onnx))', which no earlier node, initializer or bound input provides")
        }
        let dims = constant.dims.isEmpty ? [1] : constant.dims
        guard checkedDims(dims) else { throw fail("the constant '\(shown(onnx))' \(constant.dims) has rank above 4") }
        let output = unique(sanitized(onnx))
        layers.append(Layer(output, .tensor(.constant(dims: dims)), inputs: []))
        parameters[output + ".value"] = constant.floats
        runtime[onnx] = (output, dims)
        return (output, dims)
    }

    /// Appends a layer writing `onnxOutput`.
    mutating func emit(_ onnxOutput: String, _ operation: TensorOperation, _ inputs: [String]) throws {
        let dims = try inputs.map { name -> [Int] in
            guard let entry = runtime.values.first(where: { $0.name == name }) else {
                throw fail("internal: '\(name)' has no dims")
            }
            return entry.dims
        }
        let location = at
        let out = try operation.outputDims(dims) { ONNXError("\(location): \($0)") }
        guard checkedDims(out) else { throw fail("its output \(out) is not 1 to 4 dims within the size limits") }
        let output = unique(sanitized(onnxOutput))
        layers.append(Layer(output, .tensor(operation), inputs: inputs))
        runtime[onnxOutput] = (output, out)
    }

    func constant(_ onnx: String, _ what: String) throws -> FoldedConstant {
        guard let value = constants[onnx] else {
            throw fail("its \(what) '\(shown(onnx))' must be a constant (an initializer or folded shape arithmetic)")
        }
        return value
    }

    mutating func convert(_ node: Onnx_NodeProto) throws {
        guard node.domain.isEmpty || node.domain == "ai.onnx" else {
            throw fail("operator domain '\(shown(node.domain))' is not supported")
        }
        let outputs = node.output.filter { !$0.isEmpty }
        guard node.output.count >= 1, !node.output[0].isEmpty, outputs.count == 1 else {
            throw fail("has \(outputs.count) outputs, expected 1")
        }
        let out = node.output[0]
        guard runtime[out] == nil, constants[out] == nil else {
            throw fail("writes '\(shown(out))', which is already defined")
        }
        let location = at
        func input(_ i: Int) throws -> String {
            guard i < node.input.count, !node.input[i].isEmpty else {
                throw ONNXError("\(location): has no input \(i)")
            }
            return node.input[i]
        }
        func optionalInput(_ i: Int) -> String? { i < node.input.count && !node.input[i].isEmpty ? node.input[i] : nil }
        let present = node.input.filter { !$0.isEmpty }
        if let missing = present.first(where: { runtime[$0] == nil && constants[$0] == nil }) {
            throw fail("reads '\(shown(missing))', which no earlier node, initializer or bound input provides")
        }
        let allConstant = present.allSatisfy { constants[$0] != nil }
        if try fold(node, out, input, allConstant: allConstant) { return }
        switch node.opType {
        case "Conv": try conv(node, input, optionalInput)
        case "MaxPool", "AveragePool": try pool(node, input)
        case "GlobalAveragePool":
            try emit(out, .globalAveragePool, [tensor(try input(0)).name])
        case "BatchNormalization":
            guard node.int("training_mode", 0) == 0 else { throw fail("training mode is not supported") }
            let names = try (0 ... 4).map { try tensor(try input($0)).name }
            let epsilon = node.float("epsilon", 1e-5)
            guard epsilon.isFinite, epsilon >= 0 else { throw fail("epsilon \(epsilon)") }
            try emit(out, .batchNorm(epsilon: epsilon), names)
        case "Gemm":
            let names =
                try [try input(0), try input(1)].map { try tensor($0).name }
                + (optionalInput(2).map { [try tensor($0).name] } ?? [])
            let (alpha, beta) = (node.float("alpha", 1), node.float("beta", 1))
            guard alpha.isFinite, beta.isFinite else { throw fail("alpha \(alpha), beta \(beta)") }
            try emit(
                out,
                .gemm(transA: node.int("transA", 0) != 0, transB: node.int("transB", 0) != 0, alpha: alpha, beta: beta),
                names)
        case "MatMul":
            let a = try tensor(try input(0))
            let b = try tensor(try input(1))
            guard a.dims.count == 2, b.dims.count == 2 else {
                throw fail("MatMul of \(a.dims) and \(b.dims): only rank-2 matrices are supported")
            }
            try emit(out, .gemm(transA: false, transB: false, alpha: 1, beta: 0), [a.name, b.name])
        case "Add", "Sub", "Mul", "Div":
            let a = try tensor(try input(0))
            let b = try tensor(try input(1))
            try emit(
                out, .binary(TensorOperation.BinaryOperator(rawValue: node.opType.lowercased())!), [a.name, b.name])
        case "Relu":
            try emit(out, .relu, [tensor(try input(0)).name])
        case "Identity", "Dropout":
            if node.opType == "Dropout", let training = optionalInput(2) {
                guard let mode = constants[training], mode.values.allSatisfy({ $0 == 0 }) else {
                    throw fail("training-mode dropout is not supported")
                }
            }
            let x = try tensor(try input(0))
            try emit(out, .reshape(dims: x.dims), [x.name])
        case "Cast":
            let x = try tensor(try input(0))
            guard node.int("to", 1) == 1 else { throw fail("casts a runtime tensor to type \(node.int("to", 1))") }
            try emit(out, .reshape(dims: x.dims), [x.name])
        case "Flatten":
            let x = try tensor(try input(0))
            var axis = node.int("axis", 1)
            if axis < 0 { axis += x.dims.count }
            guard axis >= 0, axis <= x.dims.count else { throw fail("axis \(node.int("axis", 1)) of \(x.dims)") }
            try emit(
                out, .reshape(dims: [x.dims[..<axis].reduce(1, *), x.dims[axis...].reduce(1, *)]), [x.name])
        case "Reshape":
            let x = try tensor(try input(0))
            let requested = try constant(try input(1), "shape").shapeInts("shape")
            try emit(
                out, .reshape(dims: try reshaped(x.dims, requested, allowZero: node.int("allowzero", 0) != 0)), [x.name]
            )
        case "Unsqueeze", "Squeeze":
            let x = try tensor(try input(0))
            let axes = try optionalInput(1).map { try constant($0, "axes").shapeInts("axes") } ?? node.ints("axes")
            try emit(out, .reshape(dims: try squeezed(x.dims, axes, unsqueeze: node.opType == "Unsqueeze")), [x.name])
        case "Transpose":
            let x = try tensor(try input(0))
            let perm = node.ints("perm") ?? Array(x.dims.indices.reversed())
            guard perm.count == x.dims.count else { throw fail("perm \(perm) of \(x.dims)") }
            try emit(out, .transpose(perm: perm), [x.name])
        case "ReduceSum":
            let x = try tensor(try input(0))
            let given =
                try optionalInput(1).map { try constant($0, "axes").shapeInts("axes") } ?? node.ints("axes") ?? []
            if given.isEmpty, node.int("noop_with_empty_axes", 0) != 0 {
                try emit(out, .reshape(dims: x.dims), [x.name])
                return
            }
            let axes = given.isEmpty ? Array(x.dims.indices) : given.map { $0 < 0 ? $0 + x.dims.count : $0 }
            try emit(out, .reduceSum(axes: axes, keepDims: node.int("keepdims", 1) != 0), [x.name])
        case "Softmax", "LogSoftmax":
            let x = try tensor(try input(0))
            var axis = node.int("axis", -1)
            if axis < 0 { axis += x.dims.count }
            guard axis >= 0, axis < x.dims.count else { throw fail("axis \(node.int("axis", -1)) of \(x.dims)") }
            try emit(out, .softmax(axis: axis, logarithm: node.opType == "LogSoftmax"), [x.name])
        case "Resize": try resize(node, input, optionalInput)
        case "AffineGrid":
            let theta = try tensor(try input(0))
            let size = try constant(try input(1), "size").shapeInts("size")
            guard size.count == 4, checkedDims(size) else {
                throw fail("size \(size): only the 2-d AffineGrid ([N, C, H, W]) is supported")
            }
            try emit(out, .affineGrid(size: size, alignCorners: node.int("align_corners", 0) != 0), [theta.name])
        case "GridSample":
            let x = try tensor(try input(0))
            let grid = try tensor(try input(1))
            let (mode, padding) = try node.gridSampleOptions().mapError { fail($0.message) }.get()
            try emit(
                out, .gridSample(mode: mode, padding: padding, alignCorners: node.int("align_corners", 0) != 0),
                [x.name, grid.name])
        default:
            throw fail("unsupported operator")
        }
    }

    /// Folds what depends only on constants (`ConstantTable.fold`); false when the node must run.
    mutating func fold(
        _ node: Onnx_NodeProto, _ out: String, _ input: (Int) throws -> String, allConstant: Bool
    ) throws -> Bool {
        let known = runtime
        let location = at
        if try constants.fold(node, runtimeDims: { known[$0]?.dims }, fail: { ONNXError("\(location): \($0)") }) {
            return true
        }
        if !allConstant, ["Gather", "Concat"].contains(node.opType) {
            throw fail("runs on a runtime tensor: only shape arithmetic on constants is supported")
        }
        return false
    }

    func reshaped(_ dims: [Int], _ requested: [Int], allowZero: Bool) throws -> [Int] {
        let target = try STNONNX.reshaped(dims, requested, allowZero: allowZero) { fail($0) }
        guard target.count <= 4 else { throw fail("shape \(requested) has rank above 4") }
        return target
    }

    func squeezed(_ dims: [Int], _ axes: [Int]?, unsqueeze: Bool) throws -> [Int] {
        try STNONNX.squeezed(dims, axes, unsqueeze: unsqueeze) { fail($0) }
    }

    mutating func conv(
        _ node: Onnx_NodeProto, _ input: (Int) throws -> String, _ optionalInput: (Int) -> String?
    ) throws {
        let x = try tensor(try input(0))
        let w = try tensor(try input(1))
        guard x.dims.count == 4, w.dims.count == 4 else {
            throw fail("Conv of \(x.dims) by \(w.dims): only 2-d convolution is supported")
        }
        guard (node.ints("dilations") ?? [1, 1]).allSatisfy({ $0 == 1 }) else {
            throw fail("dilation is not supported")
        }
        if let kernel = node.ints("kernel_shape"), kernel != [w.dims[2], w.dims[3]] {
            throw fail("kernel_shape \(kernel) does not match the weight \(w.dims)")
        }
        let group = node.int("group", 1)
        guard group >= 1, group <= ModelDescription.maximumDimension else { throw fail("group \(group)") }
        let strides = try checkedStrides(node)
        let pads = try padding(
            node, input: [x.dims[2], x.dims[3]], kernel: [w.dims[2], w.dims[3]], strides: strides)
        let bias = try optionalInput(2).map { try tensor($0).name }
        try emit(
            node.output[0], .conv(stride: Size2(strides[0], strides[1]), pads: pads, group: group),
            [x.name, w.name] + (bias.map { [$0] } ?? []))
    }

    func checkedStrides(_ node: Onnx_NodeProto) throws -> [Int] {
        let strides = node.ints("strides") ?? [1, 1]
        guard strides.count == 2, strides.allSatisfy({ $0 >= 1 && $0 <= ModelDescription.maximumDimension }) else {
            throw fail("strides \(strides)")
        }
        return strides
    }

    /// Explicit pads, or auto_pad's (SAME_UPPER puts the odd one at the end, SAME_LOWER at the start).
    func padding(_ node: Onnx_NodeProto, input: [Int], kernel: [Int], strides: [Int]) throws -> TensorOperation.Pads {
        let autoPad = node.string("auto_pad", "NOTSET")
        switch autoPad {
        case "NOTSET":
            let pads = node.ints("pads") ?? [0, 0, 0, 0]
            guard pads.count == 4, pads.allSatisfy({ $0 >= 0 && $0 <= ModelDescription.maximumDimension }) else {
                throw fail("pads \(pads)")
            }
            return .init(top: pads[0], left: pads[1], bottom: pads[2], right: pads[3])
        case "VALID":
            return .zero
        case "SAME_UPPER", "SAME_LOWER":
            let totals = (0 ..< 2).map { axis -> Int in
                let out = (input[axis] + strides[axis] - 1) / strides[axis]
                return max(0, (out - 1) * strides[axis] + kernel[axis] - input[axis])
            }
            let before = totals.map { autoPad == "SAME_UPPER" ? $0 / 2 : $0 - $0 / 2 }
            return .init(top: before[0], left: before[1], bottom: totals[0] - before[0], right: totals[1] - before[1])
        default:
            throw fail("auto_pad '\(shown(autoPad))' is not supported")
        }
    }

    mutating func pool(_ node: Onnx_NodeProto, _ input: (Int) throws -> String) throws {
        let x = try tensor(try input(0))
        guard x.dims.count == 4 else { throw fail("pooling of \(x.dims): only 2-d pooling is supported") }
        guard let kernel = node.ints("kernel_shape"), kernel.count == 2,
            kernel.allSatisfy({ $0 >= 1 && $0 <= ModelDescription.maximumDimension })
        else { throw fail("kernel_shape \(node.ints("kernel_shape") ?? [])") }
        guard (node.ints("dilations") ?? [1, 1]).allSatisfy({ $0 == 1 }) else {
            throw fail("dilation is not supported")
        }
        guard node.int("storage_order", 0) == 0 else { throw fail("storage_order 1 is not supported") }
        let strides = try checkedStrides(node)
        let pads = try padding(node, input: [x.dims[2], x.dims[3]], kernel: kernel, strides: strides)
        let pooling = TensorOperation.Pooling(
            kernel: Size2(kernel[0], kernel[1]), stride: Size2(strides[0], strides[1]), pads: pads,
            ceil: node.int("ceil_mode", 0) != 0, countIncludePad: node.int("count_include_pad", 0) != 0)
        try emit(node.output[0], node.opType == "MaxPool" ? .maxPool(pooling) : .averagePool(pooling), [x.name])
    }

    mutating func resize(
        _ node: Onnx_NodeProto, _ input: (Int) throws -> String, _ optionalInput: (Int) -> String?
    ) throws {
        let x = try tensor(try input(0))
        guard x.dims.count == 4 else { throw fail("Resize of \(x.dims): only [N, C, H, W] is supported") }
        guard let mode = TensorOperation.Resizing.Mode(rawValue: node.string("mode", "nearest")) else {
            throw fail("mode '\(shown(node.string("mode", "nearest")))' is not supported (nearest and linear are)")
        }
        let transform = node.string("coordinate_transformation_mode", "half_pixel")
        guard let coordinates = TensorOperation.Resizing.Coordinates(rawValue: transform) else {
            throw fail("coordinate_transformation_mode '\(shown(transform))' is not supported")
        }
        let roundingText = node.string("nearest_mode", "round_prefer_floor")
        guard let rounding = TensorOperation.Resizing.Rounding(rawValue: roundingText) else {
            throw fail("nearest_mode '\(shown(roundingText))' is not supported")
        }
        guard node.int("antialias", 0) == 0, node.int("exclude_outside", 0) == 0, node.ints("axes") == nil else {
            throw fail("antialias, exclude_outside and axes are not supported")
        }
        let policy = node.string("keep_aspect_ratio_policy", "stretch")
        guard policy == "stretch" else { throw fail("keep_aspect_ratio_policy '\(shown(policy))' is not supported") }
        let (h, w) = (x.dims[2], x.dims[3])
        let size: Size2
        var scales: (height: Float, width: Float)?
        if let scalesName = optionalInput(2), let given = try? constant(scalesName, "scales"), given.count > 0 {
            let s = given.floats
            guard s.count == 4, s[0] == 1, s[1] == 1, s[2] > 0, s[3] > 0, s[2] <= 4096, s[3] <= 4096 else {
                throw fail("scales \(s), expected [1, 1, sh, sw]")
            }
            let height = (Double(h) * Double(s[2])).rounded(.down)
            let width = (Double(w) * Double(s[3])).rounded(.down)
            guard height >= 1, width >= 1, height <= Double(ModelDescription.maximumDimension),
                width <= Double(ModelDescription.maximumDimension)
            else { throw fail("scales \(s) give \(height)x\(width)") }
            size = Size2(Int(height), Int(width))
            scales = (s[2], s[3])
        } else if let sizesName = optionalInput(3) {
            let sizes = try constant(sizesName, "sizes").shapeInts("sizes")
            guard sizes.count == 4, sizes[0] == x.dims[0], sizes[1] == x.dims[1], checkedDims(sizes) else {
                throw fail("sizes \(sizes), expected [\(x.dims[0]), \(x.dims[1]), H, W]")
            }
            size = Size2(sizes[2], sizes[3])
        } else {
            throw fail("has neither scales nor sizes")
        }
        try emit(
            node.output[0],
            .resize(.init(size: size, scales: scales, mode: mode, coordinates: coordinates, rounding: rounding)),
            [x.name])
    }
}
