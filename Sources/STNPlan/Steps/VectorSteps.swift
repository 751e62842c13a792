import STNKernels

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// The small vectors a transform's parameters are assembled from: a fixed vector, a
/// selection of elements, arithmetic with fixed vectors, cos and sin. Their tensors hold a
/// few to a few dozen values, once per frame.

/// A vector of fixed values (`PREFIX.value`), copied into its tensor each frame.
final class ConstantVectorStep: Step {
    let count: Int
    let valueOffset: Int
    private var value: UnsafeMutablePointer<Float>!

    init(name: String, output: Int, count: Int, valueOffset: Int) {
        self.count = count
        self.valueOffset = valueOffset
        super.init(name: name, inputs: [], output: output)
    }

    override func weightFloats(training: Bool) -> Int { roundUp16(count) }
    override func bind(weights: UnsafeMutablePointer<Float>, training: Bool) { value = weights }
    override func load(_ parameters: UnsafePointer<Float>) {
        value.update(from: parameters + valueOffset, count: count)
    }
    override func forward(_ frame: Frame) { frame.values[output].update(from: value, count: count) }
}

/// Output element i is a buffer offset of one of the inputs, fixed at planning (a flattened
/// map's element sits at its NHWC lane); the backward pass adds each output's gradient back.
final class SelectStep: Step {
    /// Per output element: which input, and the float offset in its buffer.
    let sources: [(input: Int, offset: Int)]
    let capacities: [Int]

    init(name: String, inputs: [Int], output: Int, sources: [(input: Int, offset: Int)], capacities: [Int]) {
        self.sources = sources
        self.capacities = capacities
        super.init(name: name, inputs: inputs, output: output)
    }

    override func forward(_ frame: Frame) {
        let y = frame.values[output]
        for (i, source) in sources.enumerated() { y[i] = frame.values[inputs[source.input]][source.offset] }
    }

    override func backward(_ frame: Frame) {
        let dy = frame.gradients[output]
        for slot in inputs.indices where inputNeedsGradient[slot] {
            gradientTarget(frame, slot).initialize(repeating: 0, count: capacities[slot])
        }
        for (i, source) in sources.enumerated() where inputNeedsGradient[source.input] {
            gradientTarget(frame, source.input)[source.offset] += dy[i]
        }
    }
}

/// x * scale + shift per element, by fixed vectors.
final class MulAddStep: Step {
    let count: Int
    let scaleOffset: Int, shiftOffset: Int
    private var scale: UnsafeMutablePointer<Float>!
    private var shift: UnsafeMutablePointer<Float>!

    init(name: String, input: Int, output: Int, count: Int, scaleOffset: Int, shiftOffset: Int) {
        self.count = count
        self.scaleOffset = scaleOffset
        self.shiftOffset = shiftOffset
        super.init(name: name, inputs: [input], output: output)
    }

    override func weightFloats(training: Bool) -> Int { 2 * roundUp16(count) }

    override func bind(weights: UnsafeMutablePointer<Float>, training: Bool) {
        scale = weights
        shift = weights + roundUp16(count)
    }

    override func load(_ parameters: UnsafePointer<Float>) {
        scale.update(from: parameters + scaleOffset, count: count)
        shift.update(from: parameters + shiftOffset, count: count)
    }

    override func forward(_ frame: Frame) {
        let x = frame.values[inputs[0]]
        let y = frame.values[output]
        for i in 0 ..< count { y[i] = x[i] * scale[i] + shift[i] }
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        let dy = frame.gradients[output]
        let dx = gradientTarget(frame, 0)
        for i in 0 ..< count { dx[i] = dy[i] * scale[i] }
    }
}

/// cos or sin of each element.
final class TrigonometricStep: Step {
    let count: Int
    let sine: Bool

    init(name: String, input: Int, output: Int, count: Int, sine: Bool) {
        self.count = count
        self.sine = sine
        super.init(name: name, inputs: [input], output: output)
    }

    override func forward(_ frame: Frame) {
        let x = frame.values[inputs[0]]
        let y = frame.values[output]
        for i in 0 ..< count { y[i] = sine ? sinf(x[i]) : cosf(x[i]) }
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        let x = frame.values[inputs[0]]
        let dy = frame.gradients[output]
        let dx = gradientTarget(frame, 0)
        for i in 0 ..< count { dx[i] = dy[i] * (sine ? cosf(x[i]) : -sinf(x[i])) }
    }
}

/// y = A x for the fixed matrix A [rows, inner] and x read as [inner, columns] (both
/// row-major vectors): with A stored transposed and padded, each of x's values scales one
/// row of A^T into the output columns, 8 rows at a time.
final class MatrixProductStep: Step {
    let rows: Int, inner: Int, columns: Int
    let matrixOffset: Int
    /// Rows rounded up to 8: A^T is [inner][paddedRows].
    let paddedRows: Int
    private var transposed: UnsafeMutablePointer<Float>!

    init(name: String, input: Int, output: Int, rows: Int, inner: Int, columns: Int, matrixOffset: Int) {
        self.rows = rows
        self.inner = inner
        self.columns = columns
        self.matrixOffset = matrixOffset
        paddedRows = roundUp8(rows)
        super.init(name: name, inputs: [input], output: output)
    }

    override func weightFloats(training: Bool) -> Int { roundUp16(inner * paddedRows) }
    override func bind(weights: UnsafeMutablePointer<Float>, training: Bool) { transposed = weights }

    override func load(_ parameters: UnsafePointer<Float>) {
        transposed.initialize(repeating: 0, count: inner * paddedRows)
        for r in 0 ..< rows {
            for k in 0 ..< inner { transposed[k * paddedRows + r] = parameters[matrixOffset + r * inner + k] }
        }
    }

    /// One column of the product, planar, per column of x.
    override func scratchFloats(training: Bool) -> Int { roundUp16(paddedRows) }

    override func forward(_ frame: Frame) {
        let x = frame.values[inputs[0]]
        let y = frame.values[output]
        let column = frame.scratch
        for c in 0 ..< columns {
            MatrixColumn.accumulate(
                transposed, rows: paddedRows, inner: inner, x: x + c, xStride: columns, into: column)
            for r in 0 ..< rows { y[r * columns + c] = column[r] }
        }
    }

    override func backward(_ frame: Frame) {
        guard inputNeedsGradient[0] else { return }
        let dy = frame.gradients[output]
        let dx = gradientTarget(frame, 0)
        // dx[k, c] = sum_r A[r, k] dy[r, c]: a dot product of A^T's row k with dy's column c.
        for k in 0 ..< inner {
            let row = transposed + k * paddedRows
            for c in 0 ..< columns {
                var sum: Float = 0
                for r in 0 ..< rows { sum += row[r] * dy[r * columns + c] }
                dx[k * columns + c] = sum
            }
        }
    }
}
