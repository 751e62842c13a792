/// The text form of a `ModelDescription` (docs/model-format.md): reading, with a one-line
/// error naming the line for anything malformed, and writing.
///
/// A description is untrusted input: every number is bounded here, every shape is checked
/// by `Architecture`.
extension ModelDescription {
    /// The most layers a description may have.
    public static let maximumLayers = 512
    /// The largest value of any single dimension, kernel, stride or padding.
    public static let maximumDimension = 4096

    /// Reads the text form. Throws `DescriptionError` naming the offending line.
    public init(parsing text: String) throws {
        var header: (version: Int, name: String)?
        var input: (name: String, shape: TensorShape, dims: [Int]?)?
        var layers: [Layer] = []
        // Split as bytes: every separator is ASCII, and the String view's grapheme breaking
        // made this parse most of the cost of loading a preset model at start-up. A "\r\n"
        // line ending is one Character but two bytes; the "\r" goes with the blanks.
        let bytes = Array(text.utf8)
        for (index, rawLine) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .enumerated()
        {
            let lineNumber = index + 1
            let commentStart = rawLine.firstIndex(of: UInt8(ascii: "#")) ?? rawLine.endIndex
            let contentBytes = rawLine[rawLine.startIndex ..< commentStart]
            let tokens = contentBytes.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }).map {
                String(decoding: $0, as: UTF8.self)
            }
            guard let keyword = tokens.first else { continue }
            func fail(_ message: String) -> DescriptionError { DescriptionError(line: lineNumber, message) }
            guard let header else {
                guard keyword == "stn-model", tokens.count >= 2, let version = Int(tokens[1]) else {
                    throw fail("expected the header 'stn-model \(ModelDescription.formatVersion)', found '\(keyword)'")
                }
                guard version >= 1, version <= ModelDescription.formatVersion else {
                    throw fail(
                        "format version \(version); this build reads versions 1 to \(ModelDescription.formatVersion)")
                }
                var options = try Options(tokens.dropFirst(2), line: lineNumber)
                let name = try options.string("name") ?? "custom"
                try options.finish(keyword)
                header = (version, name)
                continue
            }
            guard input != nil else {
                guard keyword == "input", tokens.count >= 3 else {
                    throw fail("expected 'input NAME CxHxW' after the header, found '\(keyword)'")
                }
                let name = try checkedName(tokens[1], line: lineNumber)
                guard tokens.count == 3 else { throw fail("unexpected '\(tokens[3])' after the input's shape") }
                if header.version >= 2 {
                    let dims = try tensorDims(tokens[2], "input", line: lineNumber)
                    input = (name, .vector(dims.reduce(1, *)), dims)
                } else {
                    let dims = try dimensions(tokens[2], count: 3, line: lineNumber)
                    input = (name, TensorShape(channels: dims[0], height: dims[1], width: dims[2]), nil)
                }
                continue
            }
            guard layers.count < ModelDescription.maximumLayers else {
                throw fail("more than \(ModelDescription.maximumLayers) layers")
            }
            guard tokens.count >= 3 else {
                let content = tokens.joined(separator: " ")
                throw fail("expected 'OPERATION OUTPUT INPUTS [key=value ...]', found '\(content)'")
            }
            let output = try checkedName(tokens[1], line: lineNumber)
            let inputs =
                tokens[2] == "-"
                ? []
                : try tokens[2].split(separator: ",", omittingEmptySubsequences: false).map {
                    try checkedName(String($0), line: lineNumber)
                }
            var options = try Options(tokens.dropFirst(3), line: lineNumber)
            let operation =
                header.version >= 2
                ? .tensor(try TensorOperation.parse(keyword, &options, line: lineNumber))
                : try Self.operation(keyword, &options, line: lineNumber)
            let prefix = try options.string("params").map { try checkedPrefix($0, line: lineNumber) }
            try options.finish(keyword)
            guard operation.inputCounts.contains(inputs.count) else {
                throw fail("\(keyword) reads \(operation.inputCountText) tensor(s), given \(inputs.count)")
            }
            layers.append(Layer(output, operation, inputs: inputs, parameters: prefix))
        }
        guard let header else { throw DescriptionError(line: 1, "empty description: expected 'stn-model 1'") }
        guard let input else { throw DescriptionError(line: 2, "no 'input NAME CxHxW' line") }
        guard !layers.isEmpty else { throw DescriptionError(line: 3, "no layers") }
        self.init(name: header.name, inputName: input.name, input: input.shape, layers: layers)
        inputDims = input.dims
    }

    private static func operation(_ keyword: String, _ options: inout Options, line: Int) throws -> Operation {
        switch keyword {
        case "conv":
            let kernel = try options.size("kernel", line: line) ?? Size2(square: 1)
            let out = try options.required("out") { try positive($0, "out", line: line) }
            let stride = try options.size("stride", line: line) ?? Size2(square: 1)
            let padding = try options.size("padding", line: line, allowZero: true) ?? Size2(square: 0)
            let bias = try options.flag("bias", line: line) ?? true
            let groups = try options.string("groups").map { try positive($0, "groups", line: line) } ?? 1
            let dilation = try options.size("dilation", line: line) ?? Size2(square: 1)
            if groups == 1 && dilation == Size2(square: 1) {
                return .conv(outChannels: out, kernel: kernel, stride: stride, padding: padding, bias: bias)
            }
            return .groupedConv(
                outChannels: out, kernel: kernel, stride: stride, padding: padding, dilation: dilation, groups: groups,
                bias: bias)
        case "batchnorm":
            return .batchNorm(epsilon: try options.float("eps", line: line) ?? 1e-5)
        case "maxpool", "avgpool":
            let kernel = try options.required("kernel") { try size($0, "kernel", line: line) }
            let pooling = Pooling(
                kernel: kernel, stride: try options.size("stride", line: line) ?? kernel,
                padding: try options.size("padding", line: line, allowZero: true) ?? Size2(square: 0),
                ceil: try options.flag("ceil", line: line) ?? false,
                countIncludePad: keyword == "avgpool" ? try options.flag("count_include_pad", line: line) ?? true : true
            )
            return keyword == "maxpool" ? .maxPool(pooling) : .averagePool(pooling)
        case "global_avgpool": return .globalAveragePool
        case "global_maxpool": return .globalMaxPool
        case "relu": return .relu
        case "leaky_relu": return .activation(.leakyReLU(slope: try options.float("slope", line: line) ?? 0.01))
        case "elu": return .activation(.elu(alpha: try options.float("alpha", line: line) ?? 1))
        case "tanh": return .activation(.tanh)
        case "sigmoid": return .activation(.sigmoid)
        case "silu": return .activation(.silu)
        case "relu6": return .activation(.clip(min: 0, max: 6))
        case "clip":
            let low = try options.float("min", line: line) ?? -1
            let high = try options.float("max", line: line) ?? 1
            guard low <= high else { throw DescriptionError(line: line, "clip min=\(low) is above max=\(high)") }
            return .activation(.clip(min: low, max: high))
        case "hardsigmoid":
            return .activation(
                .hardSigmoid(
                    alpha: try options.float("alpha", line: line) ?? 1.0 / 6,
                    beta: try options.float("beta", line: line) ?? 0.5))
        case "hardswish": return .activation(.hardSwish)
        case "gelu": return .activation(.gelu)
        case "prelu": return .prelu(perChannel: try options.flag("per_channel", line: line) ?? false)
        case "add": return .add
        case "constant":
            return .constant(count: try options.required("count") { try positiveCount($0, "count", line: line) })
        case "select":
            if let channels = try options.string("channels") {
                guard try options.string("elements") == nil else {
                    throw DescriptionError(
                        line: line, "select takes elements= (of vectors) or channels= (of maps), not both")
                }
                return .selectChannels(sources: try elementSources(channels, key: "channels", line: line))
            }
            return .select(
                sources: try options.required("elements") { try elementSources($0, key: "elements", line: line) })
        case "mul_add": return .mulAdd
        case "cos": return .cosine
        case "sin": return .sine
        case "grid": return .gridView(size: try options.required("size") { try size($0, "size", line: line) })
        case "matmul":
            return .matrixProduct(
                rows: try options.required("rows") { try positiveCount($0, "rows", line: line) },
                inner: try options.required("inner") { try positiveCount($0, "inner", line: line) })
        case "flatten": return .flatten
        case "linear":
            return .linear(
                outFeatures: try options.required("out") { try positive($0, "out", line: line) },
                bias: try options.flag("bias", line: line) ?? true)
        case "dropout", "dropout2d":
            let p = try options.float("p", line: line) ?? 0.5
            guard p >= 0, p < 1 else { throw DescriptionError(line: line, "\(keyword) p=\(p) is outside [0, 1)") }
            return keyword == "dropout" ? .dropout(probability: p) : .dropout2d(probability: p)
        case "resize":
            let scale = try options.float("scale", line: line)
            if let scale, !(scale > 0 && scale <= 64) {
                throw DescriptionError(line: line, "resize scale=\(scale) is outside (0, 64]")
            }
            let size = try options.size("size", line: line)
            guard (scale == nil) != (size == nil) else {
                throw DescriptionError(line: line, "resize takes exactly one of size=HxW and scale=S")
            }
            return .resize(
                size: size ?? Size2(square: 0), scale: scale,
                alignCorners: try options.flag("align_corners", line: line) ?? false)
        case "attention_grid", "affine_grid", "projective_grid", "tps_grid":
            let kind = TransformKind.allCases.first { $0.keyword == keyword }!
            return .transformGrid(
                kind, size: try options.required("size") { try size($0, "size", line: line) },
                alignCorners: try options.flag("align_corners", line: line) ?? false)
        case "grid_sample":
            let modeText = try options.string("mode") ?? "bilinear"
            guard let mode = SampleMode(rawValue: modeText == "linear" ? "bilinear" : modeText) else {
                throw DescriptionError(line: line, "grid_sample mode '\(modeText)': expected bilinear or nearest")
            }
            let paddingText = try options.string("padding") ?? "zeros"
            guard let padding = SamplePadding(rawValue: paddingText) else {
                throw DescriptionError(line: line, "grid_sample padding '\(paddingText)': expected zeros or border")
            }
            return .gridSample(
                mode: mode, padding: padding, alignCorners: try options.flag("align_corners", line: line) ?? false)
        case "softmax": return .softmax
        case "log_softmax": return .logSoftmax
        case "normalize":
            let mean = try options.required("mean") { try floats($0, "mean", line: line) }
            let std = try options.required("std") { try floats($0, "std", line: line) }
            guard std.allSatisfy({ $0 > 0 && $0.isFinite }), mean.allSatisfy(\.isFinite) else {
                throw DescriptionError(line: line, "normalize needs finite means and positive standard deviations")
            }
            return .normalize(mean: mean, std: std)
        default:
            throw DescriptionError(
                line: line,
                "unknown operation '\(keyword)' (known: conv, batchnorm, maxpool, avgpool, global_avgpool, "
                    + "global_maxpool, relu, " + Activation.keywords.joined(separator: ", ")
                    + ", prelu, add, flatten, linear, dropout, dropout2d, resize, attention_grid, affine_grid, "
                    + "projective_grid, tps_grid, grid, grid_sample, softmax, log_softmax, normalize, constant, "
                    + "select, mul_add, cos, sin, matmul)")
        }
    }

    /// The text form: what `init(parsing:)` reads back to an equal description.
    public var text: String {
        var lines = [
            "stn-model \(version) name=\(name)",
            "input \(inputName) \(inputDims.map(dimsText) ?? shapeText(input))",
        ]
        for layer in layers {
            let inputs = layer.inputs.isEmpty ? "-" : layer.inputs.joined(separator: ",")
            var line = "\(layer.operation.keyword) \(layer.output) \(inputs)"
            let options: [(String, String)]
            if case .tensor(let operation) = layer.operation {
                options = operation.options
            } else {
                options = Self.options(of: layer.operation)
            }
            for (key, value) in options { line += " \(key)=\(value)" }
            if let prefix = layer.parameterPrefix { line += " params=\(prefix)" }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func options(of operation: Operation) -> [(String, String)] {
        func bool(_ b: Bool) -> String { b ? "1" : "0" }
        switch operation {
        case .conv(let out, let kernel, let stride, let padding, let bias):
            var o = [("out", "\(out)"), ("kernel", "\(kernel)")]
            if stride != Size2(square: 1) { o.append(("stride", "\(stride)")) }
            if padding != Size2(square: 0) { o.append(("padding", "\(padding)")) }
            if !bias { o.append(("bias", "0")) }
            return o
        case .groupedConv(let out, let kernel, let stride, let padding, let dilation, let groups, let bias):
            var o = [("out", "\(out)"), ("kernel", "\(kernel)")]
            if stride != Size2(square: 1) { o.append(("stride", "\(stride)")) }
            if padding != Size2(square: 0) { o.append(("padding", "\(padding)")) }
            if !bias { o.append(("bias", "0")) }
            o.append(("groups", "\(groups)"))
            if dilation != Size2(square: 1) { o.append(("dilation", "\(dilation)")) }
            return o
        case .batchNorm(let epsilon): return [("eps", "\(epsilon)")]
        case .maxPool(let p), .averagePool(let p):
            var o = [("kernel", "\(p.kernel)")]
            if p.stride != p.kernel { o.append(("stride", "\(p.stride)")) }
            if p.padding != Size2(square: 0) { o.append(("padding", "\(p.padding)")) }
            if p.ceil { o.append(("ceil", "1")) }
            if case .averagePool = operation, !p.countIncludePad { o.append(("count_include_pad", "0")) }
            return o
        case .relu, .flatten, .softmax, .logSoftmax, .globalAveragePool, .globalMaxPool, .add: return []
        case .activation(let activation):
            switch activation {
            case .leakyReLU(let slope): return [("slope", "\(slope)")]
            case .elu(let alpha): return [("alpha", "\(alpha)")]
            case .clip(let low, let high): return [("min", "\(low)"), ("max", "\(high)")]
            case .hardSigmoid(let alpha, let beta): return [("alpha", "\(alpha)"), ("beta", "\(beta)")]
            case .tanh, .sigmoid, .silu, .hardSwish, .gelu: return []
            }
        case .prelu(let perChannel): return perChannel ? [("per_channel", "1")] : []
        case .constant(let count): return [("count", "\(count)")]
        case .select(let sources): return [("elements", elementSourcesText(sources))]
        case .selectChannels(let sources): return [("channels", elementSourcesText(sources))]
        case .mulAdd, .cosine, .sine: return []
        case .gridView(let size): return [("size", "\(size.height)x\(size.width)")]
        case .matrixProduct(let rows, let inner): return [("rows", "\(rows)"), ("inner", "\(inner)")]
        case .linear(let out, let bias): return bias ? [("out", "\(out)")] : [("out", "\(out)"), ("bias", "0")]
        case .dropout(let p), .dropout2d(let p): return [("p", "\(p)")]
        case .resize(let size, let scale, let alignCorners):
            let first = scale.map { ("scale", "\($0)") } ?? ("size", "\(size.height)x\(size.width)")
            return [first, ("align_corners", bool(alignCorners))]
        case .transformGrid(_, let size, let alignCorners):
            return [("size", "\(size.height)x\(size.width)"), ("align_corners", bool(alignCorners))]
        case .gridSample(let mode, let padding, let alignCorners):
            return [("mode", mode.rawValue), ("padding", padding.rawValue), ("align_corners", bool(alignCorners))]
        case .normalize(let mean, let std):
            return [
                ("mean", mean.map { "\($0)" }.joined(separator: ",")),
                ("std", std.map { "\($0)" }.joined(separator: ",")),
            ]
        case .tensor(let operation):
            return operation.options
        }
    }
}

private func shapeText(_ shape: TensorShape) -> String { "\(shape.channels)x\(shape.height)x\(shape.width)" }

/// Version-2 dims: "3x4x5".
func dimsText(_ dims: [Int]) -> String { dims.map(String.init).joined(separator: "x") }

/// Rank 1 to 4 dims, each in 1 ... maximumDimension, within a tensor's bound.
func tensorDims(_ text: String, _ key: String, line: Int) throws -> [Int] {
    let parts = text.split(separator: "x", omittingEmptySubsequences: false).map(String.init)
    guard (1 ... 4).contains(parts.count) else {
        throw DescriptionError(line: line, "\(key) '\(text)': expected 1 to 4 dimensions like 3x4x5")
    }
    let dims = try parts.map { try positive($0, key, line: line) }
    guard checkedDims(dims) else {
        throw DescriptionError(line: line, "\(key) '\(text)' exceeds \(Architecture.maximumTensorElements) values")
    }
    return dims
}

/// Why a description could not be read or planned: one line, naming the line or the layer.
public struct DescriptionError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public let line: Int?

    public init(line: Int?, _ message: String) {
        self.line = line
        self.message = message
    }

    /// An error found while checking shapes, naming the layer.
    public init(layer: String, _ message: String) {
        line = nil
        self.message = "layer '\(layer)': \(message)"
    }

    public var description: String { line.map { "model description line \($0): \(message)" } ?? message }
}

/// A line's key=value options; each must be used exactly once.
struct Options {
    var values: [String: String] = [:]
    let line: Int

    init(_ tokens: ArraySlice<String>, line: Int) throws {
        self.line = line
        for token in tokens {
            let parts = token.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw DescriptionError(line: line, "expected key=value, found '\(token)'")
            }
            let key = String(parts[0])
            guard values[key] == nil else { throw DescriptionError(line: line, "'\(key)' is given twice") }
            values[key] = String(parts[1])
        }
    }

    mutating func string(_ key: String) throws -> String? { values.removeValue(forKey: key) }

    mutating func required<T>(_ key: String, _ convert: (String) throws -> T) throws -> T {
        guard let value = values.removeValue(forKey: key) else {
            throw DescriptionError(line: line, "missing '\(key)=...'")
        }
        return try convert(value)
    }

    mutating func size(_ key: String, line: Int, allowZero: Bool = false) throws -> Size2? {
        try values.removeValue(forKey: key).map { try STNModel.size($0, key, line: line, allowZero: allowZero) }
    }

    mutating func float(_ key: String, line: Int) throws -> Float? {
        guard let text = values.removeValue(forKey: key) else { return nil }
        guard let value = Float(text), value.isFinite else {
            throw DescriptionError(line: line, "\(key)=\(text) is not a finite number")
        }
        return value
    }

    mutating func flag(_ key: String, line: Int) throws -> Bool? {
        guard let text = values.removeValue(forKey: key) else { return nil }
        switch text {
        case "1", "true": return true
        case "0", "false": return false
        default: throw DescriptionError(line: line, "\(key)=\(text): expected 0 or 1")
        }
    }

    func finish(_ keyword: String) throws {
        if let key = values.keys.sorted().first {
            throw DescriptionError(line: line, "\(keyword) has no option '\(key)'")
        }
    }
}

/// Tensor and parameter names: letters, digits, '_', '.', '-', '/', at most 128 characters.
private func checkedName(_ name: String, line: Int) throws -> String {
    let allowed = name.utf8.allSatisfy {
        ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 || $0 == 46
            || $0 == 45 || $0 == 47
    }
    guard !name.isEmpty, name.utf8.count <= 128, allowed else {
        throw DescriptionError(line: line, "'\(name.prefix(40))' is not a valid name (letters, digits, _ . - /)")
    }
    return name
}

/// A `params=` prefix: a valid name that also makes storable parameter names.
private func checkedPrefix(_ name: String, line: Int) throws -> String {
    let checked = try checkedName(name, line: line)
    guard ModelDescription.isStorableParameterName(checked + ".weight") else {
        throw DescriptionError(line: line, ModelDescription.unstorableNameReason(checked))
    }
    return checked
}

extension ModelDescription {
    /// Whether a parameter name reads back from a weight file as written. Parameters are
    /// datasets at the file's root, and HDF5 takes '/' in a name as a group separator: "a/b"
    /// is kept (dataset b in group a, read back as "a/b"), but a leading '/', an empty part
    /// ("a//b") or a '.' part (HDF5's "this group") would be stored under another name.
    public static func isStorableParameterName(_ name: String) -> Bool {
        name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." }
    }

    /// Why parameters prefixed `prefix` cannot be stored, for an error line naming it.
    public static func unstorableNameReason(_ prefix: String) -> String {
        "'\(prefix.prefix(40))' cannot prefix parameter names: a weight file would not load them back (no leading '/', no '//', no '.' part)"
    }
}

func positive(_ text: String, _ key: String, line: Int, allowZero: Bool = false) throws -> Int {
    guard let value = Int(text), value >= (allowZero ? 0 : 1), value <= ModelDescription.maximumDimension else {
        throw DescriptionError(
            line: line,
            "\(key)=\(text) is not an integer in \(allowZero ? 0 : 1)...\(ModelDescription.maximumDimension)")
    }
    return value
}

/// "5" (square) or "5x7" (height x width).
func size(_ text: String, _ key: String, line: Int, allowZero: Bool = false) throws -> Size2 {
    let parts = text.split(separator: "x", omittingEmptySubsequences: false).map(String.init)
    switch parts.count {
    case 1: return Size2(square: try positive(parts[0], key, line: line, allowZero: allowZero))
    case 2:
        return Size2(
            try positive(parts[0], key, line: line, allowZero: allowZero),
            try positive(parts[1], key, line: line, allowZero: allowZero))
    default: throw DescriptionError(line: line, "\(key)=\(text): expected N or HxW")
    }
}

/// A count of values: 1 ... the most a tensor may hold.
func positiveCount(_ text: String, _ key: String, line: Int) throws -> Int {
    guard let value = Int(text), value >= 1, value <= Architecture.maximumTensorElements else {
        throw DescriptionError(
            line: line, "\(key)=\(text.prefix(20)) is not a count in 1...\(Architecture.maximumTensorElements)")
    }
    return value
}

/// "0:0,0:1-5,1:0": input:element, or input:first-last for a run.
func elementSources(_ text: String, key: String, line: Int) throws -> [ElementSource] {
    var sources: [ElementSource] = []
    for item in text.split(separator: ",", omittingEmptySubsequences: false) {
        let parts = item.split(separator: ":", omittingEmptySubsequences: false)
        let range = parts.count == 2 ? parts[1].split(separator: "-", omittingEmptySubsequences: false) : []
        guard parts.count == 2, let input = Int(parts[0]), (0 ..< 64).contains(input), (1 ... 2).contains(range.count),
            let first = Int(range[0]), let last = Int(range.last!), first >= 0, last >= first,
            last < Architecture.maximumTensorElements, sources.count + last - first < Architecture.maximumTensorElements
        else {
            throw DescriptionError(
                line: line, "\(key): '\(item.prefix(24))' is not INPUT:INDEX or INPUT:FIRST-LAST")
        }
        for element in first ... last { sources.append(ElementSource(input: input, element: element)) }
    }
    return sources
}

/// The text of `elementSources`, runs joined.
func elementSourcesText(_ sources: [ElementSource]) -> String {
    var items: [String] = []
    var i = 0
    while i < sources.count {
        var j = i
        while j + 1 < sources.count, sources[j + 1].input == sources[i].input,
            sources[j + 1].element == sources[j].element + 1
        {
            j += 1
        }
        let (input, first, last) = (sources[i].input, sources[i].element, sources[j].element)
        items.append(first == last ? "\(input):\(first)" : "\(input):\(first)-\(last)")
        i = j + 1
    }
    return items.joined(separator: ",")
}

private func dimensions(_ text: String, count: Int, line: Int) throws -> [Int] {
    let parts = text.split(separator: "x", omittingEmptySubsequences: false).map(String.init)
    guard parts.count == count else {
        throw DescriptionError(line: line, "shape '\(text)': expected \(count) dimensions like 1x28x28")
    }
    return try parts.map { try positive($0, "dimension", line: line) }
}

func floats(_ text: String, _ key: String, line: Int) throws -> [Float] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    guard parts.count <= 64 else { throw DescriptionError(line: line, "\(key): more than 64 values") }
    return try parts.map {
        guard let v = Float($0) else { throw DescriptionError(line: line, "\(key): '\($0)' is not a number") }
        return v
    }
}
