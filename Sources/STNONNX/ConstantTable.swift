import Foundation  // pow, cos, sin
import ONNXProto
import STNModel

/// Every value an importer knows at conversion: the initializers (and bound inputs), and
/// whatever nodes compute from them alone, folded here at the model's fixed input shape —
/// Constant, Shape, and the tensor arithmetic exporters emit around a model's weights:
/// Identity, Cast, Gather, Unsqueeze, Squeeze, Concat, Reshape, Flatten, Expand, Tile,
/// ConstantOfShape, Equal, Where, Add, Sub, Mul, Div, Neg, Slice, Transpose, MatMul, Range.
/// A TPS rectifier's grid matrices, the shapes of `view(-1, 2, 3)` and de-duplicated
/// initializers all end up here, so the importers see only the nodes that must run.
struct ConstantTable {
    private var values: [String: FoldedConstant] = [:]

    init(_ graph: Onnx_GraphProto) throws {
        for tensor in graph.initializer {
            guard !tensor.name.isEmpty else { throw ONNXError("an initializer has no name") }
            guard values[tensor.name] == nil else {
                throw ONNXError("initializer '\(shown(tensor.name))' is given twice")
            }
            values[tensor.name] = try FoldedConstant(tensor, name: tensor.name)
        }
    }

    func contains(_ name: String) -> Bool { values[name] != nil }
    subscript(name: String) -> FoldedConstant? {
        get { values[name] }
        set { values[name] = newValue }
    }

    /// A constant's dims and value count.
    func dims(_ name: String) throws -> (dims: [Int], count: Int) {
        guard let value = values[name] else { throw ONNXError("missing initializer '\(shown(name))'") }
        return (value.dims, value.count)
    }

    /// A constant as floats; every value finite.
    func floats(_ name: String) throws -> Constant {
        guard let value = values[name] else { throw ONNXError("missing initializer '\(shown(name))'") }
        let floats = value.floats
        if let bad = floats.firstIndex(where: { !$0.isFinite }) {
            throw ONNXError("tensor '\(shown(name))' has a non-finite value at index \(bad)")
        }
        return Constant(dims: value.dims, floats: floats)
    }

    /// A constant of integers, as for shapes and axes.
    func ints(_ name: String) throws -> [Int] {
        guard let value = values[name] else { throw ONNXError("missing initializer '\(shown(name))'") }
        guard value.count <= 64 else {
            throw ONNXError("tensor '\(shown(name))' has \(value.count) values, expected a shape")
        }
        return try value.shapeInts("tensor '\(shown(name))' values")
    }

    /// Folds `node` when its value is known now: true when it did (its output is then a
    /// constant). `runtimeDims` gives the dims of a tensor computed at run time (for Shape).
    /// `fail` makes the importer's error for this node.
    mutating func fold(
        _ node: Onnx_NodeProto, runtimeDims: (String) -> [Int]?, fail: (String) -> ONNXError
    ) throws -> Bool {
        guard let out = node.output.first, !out.isEmpty else { return false }
        let inputs = node.input
        func input(_ i: Int) throws -> FoldedConstant {
            guard i < inputs.count, !inputs[i].isEmpty, let value = values[inputs[i]] else {
                throw fail("has no constant input \(i)")
            }
            return value
        }
        func optional(_ i: Int) -> FoldedConstant? { i < inputs.count && !inputs[i].isEmpty ? values[inputs[i]] : nil }
        func set(_ value: FoldedConstant) throws {
            guard value.count <= FoldedConstant.maximumValues else { throw fail("folds to \(value.dims): too large") }
            values[out] = value
        }
        switch node.opType {
        case "Constant":
            guard let attribute = node.attribute.first else { throw fail("has no value") }
            switch attribute.name {
            case "value": try set(try FoldedConstant(attribute.t, name: out))
            case "value_float": try set(FoldedConstant(dims: [], values: [Double(attribute.f)], isInteger: false))
            case "value_floats":
                try set(
                    FoldedConstant(
                        dims: [attribute.floats.count], values: attribute.floats.map { Double($0) }, isInteger: false))
            case "value_int": try set(FoldedConstant(dims: [], values: [Double(attribute.i)], isInteger: true))
            case "value_ints":
                try set(
                    FoldedConstant(
                        dims: [attribute.ints.count], values: attribute.ints.map { Double($0) }, isInteger: true))
            default: throw fail("attribute '\(shown(attribute.name))' is not supported")
            }
            return true
        case "Shape":
            guard let source = inputs.first, let dims = runtimeDims(source) ?? values[source]?.dims else {
                throw fail("reads '\(shown(inputs.first ?? ""))', which no earlier node provides")
            }
            let rank = dims.count
            func clamp(_ i: Int) -> Int { min(max(i < 0 ? i + rank : i, 0), rank) }
            let start = clamp(node.int("start", 0))
            let end = clamp(node.int("end", rank))
            let part = start < end ? Array(dims[start ..< end]) : []
            try set(FoldedConstant(dims: [part.count], values: part.map { Double($0) }, isInteger: true))
            return true
        case "ConstantOfShape":
            guard let shapeValue = optional(0) else { return false }
            let dims = try shapeValue.shapeInts("ConstantOfShape shape")
            guard dims.allSatisfy({ $0 >= 0 }), let count = product(dims), count <= FoldedConstant.maximumValues else {
                throw fail("shape \(dims)")
            }
            var fill = 0.0
            var integer = false
            if let attribute = node.attribute.first(where: { $0.name == "value" }) {
                let value = try FoldedConstant(attribute.t, name: out)
                fill = value.values.first ?? 0
                integer = value.isInteger
            }
            try set(FoldedConstant(dims: dims, values: [Double](repeating: fill, count: count), isInteger: integer))
            return true
        default:
            break
        }
        // Everything else folds only when every input it reads is known.
        let present = inputs.filter { !$0.isEmpty }
        guard !present.isEmpty, present.allSatisfy({ values[$0] != nil }) else { return false }
        switch node.opType {
        case "Identity":
            try set(try input(0))
        case "Cast":
            var value = try input(0)
            switch node.int("to", 1) {
            case 1, 10, 11, 16: value.isInteger = false
            case 6, 7, 2, 3, 4, 5, 12, 13:
                value.values = value.values.map { $0.isFinite ? $0.rounded(.towardZero) : 0 }
                value.isInteger = true
            case 9: value.values = value.values.map { $0 != 0 ? 1 : 0 }
            default: throw fail("cast to type \(node.int("to", 1)) is not supported")
            }
            try set(value)
        case "Gather":
            let data = try input(0)
            let indices = try input(1)
            var axis = node.int("axis", 0)
            if axis < 0 { axis += data.dims.count }
            guard axis >= 0, axis < max(data.dims.count, 1), !data.dims.isEmpty else {
                throw fail("axis \(node.int("axis", 0)) of \(data.dims)")
            }
            let extent = data.dims[axis]
            let outer = data.dims[..<axis].reduce(1, *)
            let inner = data.dims[(axis + 1)...].reduce(1, *)
            let picks = try indices.shapeInts("indices").map { index -> Int in
                let i = index < 0 ? index + extent : index
                guard i >= 0, i < extent else { throw fail("index \(index) out of range for \(data.dims)") }
                return i
            }
            guard let count = product([outer, picks.count, inner]), count <= FoldedConstant.maximumValues else {
                throw fail("gathers too many values")
            }
            var result: [Double] = []
            result.reserveCapacity(count)
            for o in 0 ..< outer {
                for i in picks { result += data.values[(o * extent + i) * inner ..< (o * extent + i + 1) * inner] }
            }
            try set(
                FoldedConstant(
                    dims: Array(data.dims[..<axis]) + indices.dims + Array(data.dims[(axis + 1)...]), values: result,
                    isInteger: data.isInteger))
        case "Unsqueeze", "Squeeze":
            var value = try input(0)
            let axes = try optional(1).map { try $0.shapeInts("axes") } ?? node.ints("axes")
            value.dims = try squeezed(
                value.dims, axes, unsqueeze: node.opType == "Unsqueeze", allowRankZero: true, fail: fail)
            try set(value)
        case "Concat":
            let parts = try present.indices.map { try input($0) }
            let rank = parts[0].dims.count
            var axis = node.int("axis", 0)
            if axis < 0 { axis += rank }
            guard rank >= 1, axis >= 0, axis < rank, parts.allSatisfy({ $0.dims.count == rank }) else {
                throw fail("axis \(node.int("axis", 0)) of \(parts.map(\.dims))")
            }
            for part in parts {
                for d in 0 ..< rank where d != axis && part.dims[d] != parts[0].dims[d] {
                    throw fail("concatenates \(parts.map(\.dims))")
                }
            }
            let outer = parts[0].dims[..<axis].reduce(1, *)
            var result: [Double] = []
            for o in 0 ..< outer {
                for part in parts {
                    let block = part.dims[axis...].reduce(1, *)
                    result += part.values[o * block ..< (o + 1) * block]
                }
            }
            var dims = parts[0].dims
            dims[axis] = parts.reduce(0) { $0 + $1.dims[axis] }
            try set(FoldedConstant(dims: dims, values: result, isInteger: parts.allSatisfy(\.isInteger)))
        case "Reshape":
            var value = try input(0)
            let requested = try input(1).shapeInts("shape")
            value.dims = try reshaped(value.dims, requested, allowZero: node.int("allowzero", 0) != 0, fail: fail)
            try set(value)
        case "Flatten":
            var value = try input(0)
            var axis = node.int("axis", 1)
            if axis < 0 { axis += value.dims.count }
            guard axis >= 0, axis <= value.dims.count else { throw fail("axis \(node.int("axis", 1))") }
            value.dims = [value.dims[..<axis].reduce(1, *), value.dims[axis...].reduce(1, *)]
            try set(value)
        case "Expand":
            let value = try input(0)
            let shape = try input(1).shapeInts("shape")
            guard let dims = try? broadcast(value.dims, shape) else {
                throw fail("expands \(value.dims) to \(shape): they do not broadcast")
            }
            try set(try broadcastValues(value, to: dims, fail: fail))
        case "Tile":
            let value = try input(0)
            let repeats = try input(1).shapeInts("repeats")
            guard repeats.count == value.dims.count, repeats.allSatisfy({ $0 >= 0 }) else {
                throw fail("repeats \(repeats) of \(value.dims)")
            }
            let dims = zip(value.dims, repeats).map { $0 * $1 }
            guard let count = product(dims), count <= FoldedConstant.maximumValues else { throw fail("tiles too much") }
            let source = strides(value.dims)
            let result = (0 ..< count).map { flat -> Double in
                var rest = flat
                var at = 0
                for (d, extent) in dims.enumerated().reversed() {
                    at += (rest % extent) % value.dims[d] * source[d]
                    rest /= extent
                }
                return value.values[at]
            }
            try set(FoldedConstant(dims: dims, values: result, isInteger: value.isInteger))
        case "Add", "Sub", "Mul", "Div", "Equal", "Pow":
            let (a, b) = (try input(0), try input(1))
            let op = node.opType
            try set(
                try elementwise(a, b, integer: a.isInteger && b.isInteger && op != "Div" && op != "Pow", fail: fail) {
                    x, y in
                    switch op {
                    case "Add": return x + y
                    case "Sub": return x - y
                    case "Mul": return x * y
                    case "Div":
                        return a.isInteger && b.isInteger ? (y == 0 ? 0 : (x / y).rounded(.towardZero)) : x / y
                    case "Pow": return Foundation.pow(x, y)
                    default: return x == y ? 1 : 0
                    }
                })
        case "Where":
            let (condition, a, b) = (try input(0), try input(1), try input(2))
            guard let ab = try? broadcast(a.dims, b.dims), let dims = try? broadcast(condition.dims, ab) else {
                throw fail("Where of \(condition.dims), \(a.dims), \(b.dims): they do not broadcast")
            }
            let c = try broadcastValues(condition, to: dims, fail: fail)
            let x = try broadcastValues(a, to: dims, fail: fail)
            let y = try broadcastValues(b, to: dims, fail: fail)
            try set(
                FoldedConstant(
                    dims: dims, values: c.values.indices.map { c.values[$0] != 0 ? x.values[$0] : y.values[$0] },
                    isInteger: a.isInteger && b.isInteger))
        case "Neg", "Sqrt", "Reciprocal", "Cos", "Sin":
            var value = try input(0)
            let op = node.opType
            value.values = value.values.map { v in
                switch op {
                case "Neg": return -v
                case "Sqrt": return v.squareRoot()
                case "Reciprocal": return 1 / v
                case "Cos": return Foundation.cos(v)
                default: return Foundation.sin(v)
                }
            }
            if op != "Neg" { value.isInteger = false }
            try set(value)
        case "Slice":
            let data = try input(0)
            let starts = try input(1).shapeInts("starts")
            let ends = try input(2).shapeInts("ends")
            let axes = try optional(3).map { try $0.shapeInts("axes") } ?? Array(0 ..< starts.count)
            let steps = try optional(4).map { try $0.shapeInts("steps") } ?? [Int](repeating: 1, count: starts.count)
            let ranges = try sliceRanges(data.dims, starts, ends, axes, steps, fail: fail)
            try set(gathered(data, ranges))
        case "Transpose":
            let value = try input(0)
            let perm = node.ints("perm") ?? Array(value.dims.indices.reversed())
            guard perm.sorted() == Array(value.dims.indices) else { throw fail("perm \(perm) of \(value.dims)") }
            let dims = perm.map { value.dims[$0] }
            let source = strides(value.dims)
            let result = (0 ..< value.count).map { flat -> Double in
                var rest = flat
                var at = 0
                for (d, extent) in dims.enumerated().reversed() {
                    at += (rest % extent) * source[perm[d]]
                    rest /= extent
                }
                return value.values[at]
            }
            try set(FoldedConstant(dims: dims, values: result, isInteger: value.isInteger))
        case "MatMul":
            try set(try matmul(try input(0), try input(1), fail: fail))
        case "Range":
            let (start, limit, delta) = (try input(0), try input(1), try input(2))
            guard let s = start.values.first, let l = limit.values.first, let d = delta.values.first, d != 0 else {
                throw fail("Range needs scalar start, limit and a non-zero delta")
            }
            let count = max(0, Int(((l - s) / d).rounded(.up)))
            guard count <= FoldedConstant.maximumValues else { throw fail("Range of \(count) values") }
            try set(
                FoldedConstant(
                    dims: [count], values: (0 ..< count).map { s + Double($0) * d },
                    isInteger: start.isInteger && limit.isInteger && delta.isInteger))
        default:
            return false
        }
        return true
    }
}

/// The product of `dims`, or nil when it overflows or exceeds the folding bound.
func product(_ dims: [Int]) -> Int? {
    var p = 1
    for d in dims {
        let (next, overflow) = p.multipliedReportingOverflow(by: d)
        guard !overflow, next <= FoldedConstant.maximumValues else { return nil }
        p = next
    }
    return p
}

/// Row-major element strides of `dims`.
func strides(_ dims: [Int]) -> [Int] {
    var result = [Int](repeating: 1, count: dims.count)
    var stride = 1
    for d in dims.indices.reversed() {
        result[d] = stride
        stride *= dims[d]
    }
    return result
}

/// `value` broadcast (NumPy rules) to `dims`.
func broadcastValues(_ value: FoldedConstant, to dims: [Int], fail: (String) -> ONNXError) throws -> FoldedConstant {
    guard let count = product(dims) else { throw fail("broadcasts to \(dims): too large") }
    if value.dims == dims { return value }
    let padded = [Int](repeating: 1, count: dims.count - value.dims.count) + value.dims
    let source = strides(padded)
    let result = (0 ..< count).map { flat -> Double in
        var rest = flat
        var at = 0
        for d in dims.indices.reversed() {
            if padded[d] != 1 { at += (rest % dims[d]) * source[d] }
            rest /= dims[d]
        }
        return value.values[at]
    }
    return FoldedConstant(dims: dims, values: result, isInteger: value.isInteger)
}

/// Elementwise `op` of two constants under NumPy broadcasting.
func elementwise(
    _ a: FoldedConstant, _ b: FoldedConstant, integer: Bool, fail: (String) -> ONNXError,
    _ op: (Double, Double) -> Double
) throws -> FoldedConstant {
    guard let dims = try? broadcast(a.dims, b.dims) else {
        throw fail("of \(a.dims) and \(b.dims): the shapes do not broadcast")
    }
    let x = try broadcastValues(a, to: dims, fail: fail)
    let y = try broadcastValues(b, to: dims, fail: fail)
    return FoldedConstant(dims: dims, values: zip(x.values, y.values).map(op), isInteger: integer)
}

/// NumPy's matmul of constants: rank-2 products, batched over broadcast leading dims.
func matmul(_ a: FoldedConstant, _ b: FoldedConstant, fail: (String) -> ONNXError) throws -> FoldedConstant {
    guard a.dims.count >= 2, b.dims.count >= 2 else { throw fail("MatMul of \(a.dims) and \(b.dims): rank below 2") }
    let (m, k) = (a.dims[a.dims.count - 2], a.dims[a.dims.count - 1])
    let (k2, n) = (b.dims[b.dims.count - 2], b.dims[b.dims.count - 1])
    guard k == k2, let batch = try? broadcast(Array(a.dims.dropLast(2)), Array(b.dims.dropLast(2))) else {
        throw fail("MatMul of \(a.dims) and \(b.dims)")
    }
    let x = try broadcastValues(a, to: batch + [m, k], fail: fail)
    let y = try broadcastValues(b, to: batch + [k, n], fail: fail)
    let count = batch.reduce(1, *)
    guard let total = product([count, m, n]), product([count, m, k, n]) != nil else {
        throw fail("MatMul of \(a.dims) and \(b.dims) is too large to fold")
    }
    var result = [Double](repeating: 0, count: total)
    for i in 0 ..< count {
        for r in 0 ..< m {
            for c in 0 ..< n {
                var sum = 0.0
                for p in 0 ..< k { sum += x.values[(i * m + r) * k + p] * y.values[(i * k + p) * n + c] }
                result[(i * m + r) * n + c] = sum
            }
        }
    }
    return FoldedConstant(dims: batch + [m, n], values: result, isInteger: a.isInteger && b.isInteger)
}

/// Per axis, the indices ONNX's Slice picks (clamped starts and ends, any step).
func sliceRanges(
    _ dims: [Int], _ starts: [Int], _ ends: [Int], _ axes: [Int], _ steps: [Int], fail: (String) -> ONNXError
) throws -> [[Int]] {
    guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count else {
        throw fail("Slice's starts, ends, axes and steps differ in length")
    }
    var picks = dims.map { Array(0 ..< $0) }
    for (i, axisValue) in axes.enumerated() {
        let axis = axisValue < 0 ? axisValue + dims.count : axisValue
        guard axis >= 0, axis < dims.count, steps[i] != 0 else {
            throw fail("Slice axis \(axisValue) step \(steps[i])")
        }
        let extent = dims[axis]
        func clamp(_ v: Int, _ low: Int, _ high: Int) -> Int { min(max(v, low), high) }
        var start = starts[i] < 0 ? starts[i] + extent : starts[i]
        var end = ends[i] < 0 ? ends[i] + extent : ends[i]
        if steps[i] > 0 {
            start = clamp(start, 0, extent)
            end = clamp(end, 0, extent)
            picks[axis] = Array(stride(from: start, to: end, by: steps[i]))
        } else {
            start = clamp(start, -1, extent - 1)
            end = clamp(end, -1, extent - 1)
            picks[axis] = Array(stride(from: start, to: end, by: steps[i]))
        }
    }
    return picks
}

/// The values of `value` at the per-axis indices `picks` (Slice's result).
func gathered(_ value: FoldedConstant, _ picks: [[Int]]) -> FoldedConstant {
    let dims = picks.map(\.count)
    let source = strides(value.dims)
    let count = dims.reduce(1, *)
    let result = (0 ..< count).map { flat -> Double in
        var rest = flat
        var at = 0
        for d in dims.indices.reversed() {
            at += picks[d][rest % dims[d]] * source[d]
            rest /= dims[d]
        }
        return value.values[at]
    }
    return FoldedConstant(dims: dims, values: result, isInteger: value.isInteger)
}

/// Reshape's target with 0 (copy, unless allowzero) and -1 (the rest) resolved.
func reshaped(_ dims: [Int], _ requested: [Int], allowZero: Bool, fail: (String) -> ONNXError) throws -> [Int] {
    let total = dims.reduce(1, *)
    var target = requested
    guard target.count <= 8 else { throw fail("shape \(requested) has rank above 8") }
    for (i, d) in target.enumerated() where d == 0 && !allowZero {
        guard i < dims.count else { throw fail("shape \(requested) copies a dimension that is not there") }
        target[i] = dims[i]
    }
    let known = target.filter { $0 != -1 }
    guard target.count - known.count <= 1, known.allSatisfy({ $0 >= 0 && $0 <= max(total, 1) }) else {
        throw fail("shape \(requested) is not a valid reshape of \(dims)")
    }
    var p = 1
    for v in known {
        p *= v
        guard p <= max(total, 1) else { throw fail("shape \(requested) does not fit \(dims)") }
    }
    if let free = target.firstIndex(of: -1) {
        guard p > 0, total % p == 0 else { throw fail("shape \(requested) does not fit \(dims)") }
        target[free] = total / p
    }
    guard target.reduce(1, *) == total else { throw fail("shape \(requested) does not fit \(dims)") }
    return target
}

/// Dims with axes inserted (Unsqueeze) or removed (Squeeze; every 1 when `axes` is nil).
func squeezed(
    _ dims: [Int], _ axes: [Int]?, unsqueeze: Bool, allowRankZero: Bool = false, fail: (String) -> ONNXError
) throws -> [Int] {
    if unsqueeze {
        guard let axes, !axes.isEmpty, axes.count <= 8 else { throw fail("Unsqueeze needs axes") }
        let rank = dims.count + axes.count
        let normal = Set(axes.map { $0 < 0 ? $0 + rank : $0 })
        guard normal.count == axes.count, normal.allSatisfy({ $0 >= 0 && $0 < rank }) else {
            throw fail("axes \(axes) for rank \(rank)")
        }
        var source = dims.makeIterator()
        return (0 ..< rank).map { normal.contains($0) ? 1 : source.next()! }
    }
    let rank = dims.count
    let normal = Set((axes ?? dims.indices.filter { dims[$0] == 1 }).map { $0 < 0 ? $0 + rank : $0 })
    guard normal.allSatisfy({ $0 >= 0 && $0 < rank && dims[$0] == 1 }) else {
        throw fail("axes \(axes ?? []) of \(dims) are not all 1")
    }
    let result = dims.indices.filter { !normal.contains($0) }.map { dims[$0] }
    guard allowRankZero || !result.isEmpty else { throw fail("squeezes \(dims) to a scalar") }
    return result
}
