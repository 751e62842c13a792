/// The text form of version-2 layers (docs/model-format.md, "Version 2").
extension TensorOperation {
    static func parse(_ keyword: String, _ options: inout Options, line: Int) throws -> TensorOperation {
        func fail(_ message: String) -> DescriptionError { DescriptionError(line: line, message) }
        func flag(_ key: String) throws -> Bool { try options.flag(key, line: line) ?? false }
        func pads() throws -> Pads {
            guard let text = try options.string("pads") else { return .zero }
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 4 else { throw fail("pads=\(text): expected top,left,bottom,right") }
            let p = try parts.map { try positive($0, "pads", line: line, allowZero: true) }
            return Pads(top: p[0], left: p[1], bottom: p[2], right: p[3])
        }
        switch keyword {
        case "constant":
            return .constant(dims: try options.required("shape") { try tensorDims($0, "shape", line: line) })
        case "conv":
            let group = try options.string("group").map { try positive($0, "group", line: line) } ?? 1
            return .conv(
                stride: try options.size("stride", line: line) ?? Size2(square: 1), pads: try pads(), group: group)
        case "maxpool", "avgpool":
            let kernel = try options.required("kernel") { try size($0, "kernel", line: line) }
            let pooling = Pooling(
                kernel: kernel, stride: try options.size("stride", line: line) ?? Size2(square: 1), pads: try pads(),
                ceil: try flag("ceil"), countIncludePad: try flag("count_include_pad"))
            return keyword == "maxpool" ? .maxPool(pooling) : .averagePool(pooling)
        case "global_avgpool": return .globalAveragePool
        case "batchnorm":
            let epsilon = try options.float("eps", line: line) ?? 1e-5
            guard epsilon >= 0 else { throw fail("batchnorm eps=\(epsilon) is negative") }
            return .batchNorm(epsilon: epsilon)
        case "gemm":
            return .gemm(
                transA: try flag("trans_a"), transB: try flag("trans_b"),
                alpha: try options.float("alpha", line: line) ?? 1, beta: try options.float("beta", line: line) ?? 1)
        case "add", "sub", "mul", "div": return .binary(BinaryOperator(rawValue: keyword)!)
        case "relu": return .relu
        case "reshape":
            return .reshape(dims: try options.required("shape") { try tensorDims($0, "shape", line: line) })
        case "transpose":
            return .transpose(perm: try options.required("perm") { try axisList($0, "perm", line: line) })
        case "reduce_sum":
            return .reduceSum(
                axes: try options.required("axes") { try axisList($0, "axes", line: line) },
                keepDims: try flag("keepdims"))
        case "softmax", "log_softmax":
            let axis = try options.required("axis") { try positive($0, "axis", line: line, allowZero: true) }
            return .softmax(axis: axis, logarithm: keyword == "log_softmax")
        case "resize":
            let size = try options.required("size") { try STNModel.size($0, "size", line: line) }
            var scales: (height: Float, width: Float)?
            if let text = try options.string("scales") {
                let values = try floats(text, "scales", line: line)
                guard values.count == 2, values.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                    throw fail("scales=\(text): expected two positive numbers H,W")
                }
                scales = (values[0], values[1])
            }
            func choice<T: RawRepresentable>(_ key: String, _ fallback: T) throws -> T where T.RawValue == String {
                guard let text = try options.string(key) else { return fallback }
                guard let value = T(rawValue: text) else { throw fail("resize \(key)=\(text) is not known") }
                return value
            }
            return .resize(
                Resizing(
                    size: size, scales: scales, mode: try choice("mode", Resizing.Mode.nearest),
                    coordinates: try choice("coordinates", Resizing.Coordinates.halfPixel),
                    rounding: try choice("nearest", Resizing.Rounding.roundPreferFloor)))
        case "affine_grid":
            let size = try options.required("size") { try tensorDims($0, "size", line: line) }
            guard size.count == 4 else { throw fail("affine_grid size must be NxCxHxW") }
            return .affineGrid(size: size, alignCorners: try flag("align_corners"))
        case "grid_sample":
            let modeText = try options.string("mode") ?? "bilinear"
            guard let mode = SampleMode(rawValue: modeText == "linear" ? "bilinear" : modeText) else {
                throw fail("grid_sample mode '\(modeText)': expected bilinear or nearest")
            }
            let paddingText = try options.string("padding") ?? "zeros"
            guard let padding = SamplePadding(rawValue: paddingText) else {
                throw fail("grid_sample padding '\(paddingText)': expected zeros or border")
            }
            return .gridSample(mode: mode, padding: padding, alignCorners: try flag("align_corners"))
        default:
            throw fail(
                "unknown version-2 operation '\(keyword)' (known: \(TensorOperation.keywords.joined(separator: ", ")))")
        }
    }

    /// The key=value options of the text form.
    var options: [(String, String)] {
        func bool(_ b: Bool) -> String { b ? "1" : "0" }
        switch self {
        case .constant(let dims): return [("shape", dimsText(dims))]
        case .conv(let stride, let pads, let group):
            return [("stride", "\(stride)"), ("pads", "\(pads)"), ("group", "\(group)")]
        case .maxPool(let p), .averagePool(let p):
            return [
                ("kernel", "\(p.kernel)"), ("stride", "\(p.stride)"), ("pads", "\(p.pads)"), ("ceil", bool(p.ceil)),
                ("count_include_pad", bool(p.countIncludePad)),
            ]
        case .globalAveragePool, .relu, .binary: return []
        case .batchNorm(let epsilon): return [("eps", "\(epsilon)")]
        case .gemm(let transA, let transB, let alpha, let beta):
            return [("trans_a", bool(transA)), ("trans_b", bool(transB)), ("alpha", "\(alpha)"), ("beta", "\(beta)")]
        case .reshape(let dims): return [("shape", dimsText(dims))]
        case .transpose(let perm): return [("perm", perm.map(String.init).joined(separator: ","))]
        case .reduceSum(let axes, let keepDims):
            return [("axes", axes.map(String.init).joined(separator: ",")), ("keepdims", bool(keepDims))]
        case .softmax(let axis, _): return [("axis", "\(axis)")]
        case .resize(let r):
            var o = [("size", "\(r.size.height)x\(r.size.width)")]
            if let s = r.scales { o.append(("scales", "\(s.height),\(s.width)")) }
            return o + [
                ("mode", r.mode.rawValue), ("coordinates", r.coordinates.rawValue), ("nearest", r.rounding.rawValue),
            ]
        case .affineGrid(let size, let alignCorners):
            return [("size", dimsText(size)), ("align_corners", bool(alignCorners))]
        case .gridSample(let mode, let padding, let alignCorners):
            return [("mode", mode.rawValue), ("padding", padding.rawValue), ("align_corners", bool(alignCorners))]
        }
    }
}

/// "0,2,1": at most 4 axes, each 0 ... 3.
private func axisList(_ text: String, _ key: String, line: Int) throws -> [Int] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    guard parts.count <= 4 else { throw DescriptionError(line: line, "\(key)=\(text): more than 4 axes") }
    return try parts.map {
        guard let axis = Int($0), (0 ... 3).contains(axis) else {
            throw DescriptionError(line: line, "\(key)=\(text): '\($0)' is not an axis 0 to 3")
        }
        return axis
    }
}
