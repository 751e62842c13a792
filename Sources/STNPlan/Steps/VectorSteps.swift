import STNKernelInterface

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

/// Copies runs of floats from the inputs into the output, the same runs at every pixel:
/// `select`. Of vectors (one pixel), element i is a buffer offset of one of the inputs,
/// fixed at planning (a flattened map's element sits at its NHWC lane); of maps
/// (`channels=`), output channel i is one input channel at every pixel, and consecutive
/// channels of one input are one run. The backward pass adds each output's gradient back.
/// A copy of at most a few thousand floats a frame: not a hot spot beside the convolutions.
final class SelectStep: Step {
    /// `count` floats from `offset` in input `input`'s pixel to `target` in the output's.
    struct Run: Equatable {
        let input: Int, offset: Int, target: Int, count: Int
    }
    let runs: [Run]
    /// Pixels (1 for vectors), and floats a pixel of each input and of the output.
    let pixels: Int
    let inputStrides: [Int]
    let outputStride: Int
    let capacities: [Int]

    /// Vectors: output element i is float `sources[i].offset` of input `sources[i].input`.
    convenience init(name: String, inputs: [Int], output: Int, sources: [(input: Int, offset: Int)], capacities: [Int])
    {
        self.init(
            name: name, inputs: inputs, output: output,
            runs: sources.enumerated().map { Run(input: $1.input, offset: $1.offset, target: $0, count: 1) },
            pixels: 1, inputStrides: inputs.map { _ in 0 }, outputStride: 0, capacities: capacities)
    }

    /// Maps of `pixels` pixels: output channel i is channel `sources[i].channel` of input
    /// `sources[i].input` (pixels `inputStrides` and `outputStride` floats apart).
    convenience init(
        name: String, inputs: [Int], output: Int, channels sources: [(input: Int, channel: Int)], pixels: Int,
        inputStrides: [Int], outputStride: Int, capacities: [Int]
    ) {
        var runs: [Run] = []
        for (i, source) in sources.enumerated() {
            if let last = runs.last, last.input == source.input, last.offset + last.count == source.channel {
                runs[runs.count - 1] = Run(
                    input: last.input, offset: last.offset, target: last.target, count: last.count + 1)
            } else {
                runs.append(Run(input: source.input, offset: source.channel, target: i, count: 1))
            }
        }
        self.init(
            name: name, inputs: inputs, output: output, runs: runs, pixels: pixels, inputStrides: inputStrides,
            outputStride: outputStride, capacities: capacities)
    }

    private init(
        name: String, inputs: [Int], output: Int, runs: [Run], pixels: Int, inputStrides: [Int], outputStride: Int,
        capacities: [Int]
    ) {
        self.runs = Self.merged(runs)
        self.pixels = pixels
        self.inputStrides = inputStrides
        self.outputStride = outputStride
        self.capacities = capacities
        super.init(name: name, inputs: inputs, output: output)
    }

    /// Runs that continue each other (the next floats of the same input, at the next targets) as one.
    private static func merged(_ runs: [Run]) -> [Run] {
        var result: [Run] = []
        for run in runs {
            if let last = result.last, last.input == run.input, last.offset + last.count == run.offset,
                last.target + last.count == run.target
            {
                result[result.count - 1] = Run(
                    input: last.input, offset: last.offset, target: last.target, count: last.count + run.count)
            } else {
                result.append(run)
            }
        }
        return result
    }

    override func forward(_ frame: Frame) {
        let y = frame.values[output]
        for run in runs {
            let x = frame.values[inputs[run.input]] + run.offset
            let to = y + run.target
            let stride = inputStrides[run.input]
            if pixels == 1 || (run.count == stride && run.count == outputStride) {
                // A vector's run, or whole pixels alike in both: one contiguous copy.
                to.update(from: x, count: run.count * pixels)
            } else if run.count == 1 {
                // One channel: a strided copy (a call per pixel would cost more than the copy).
                for p in 0 ..< pixels { to[p * outputStride] = x[p * stride] }
            } else {
                for p in 0 ..< pixels {
                    for k in 0 ..< run.count { to[p * outputStride + k] = x[p * stride + k] }
                }
            }
        }
    }

    /// Any number of inputs: a gradient another step also feeds is added in place.
    override var addsGradientsInPlace: Bool { true }

    override func backward(_ frame: Frame) {
        let dy = frame.gradients[output]
        for slot in inputs.indices where inputNeedsGradient[slot] && !accumulatesGradient[slot] {
            frame.gradients[inputs[slot]].initialize(repeating: 0, count: capacities[slot])
        }
        for run in runs where inputNeedsGradient[run.input] {
            let dx = frame.gradients[inputs[run.input]] + run.offset
            let stride = inputStrides[run.input]
            for p in 0 ..< pixels {
                let to = dx + p * stride
                let from = dy + run.target + p * outputStride
                for k in 0 ..< run.count { to[k] += from[k] }
            }
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
