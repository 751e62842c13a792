import STNKernelInterface

/// A fully connected layer (`LinearShape`) for one input vector, forward and backward.
extension LinearShape {
    /// output[o] = bias[o] + sum_i input[i] * W[o][i]; `bias` and `output` have outputsP entries.
    func forward(
        input: UnsafePointer<Float>, packed: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) {
        // A matrix-vector product: every weight is used once, so the time is streaming the
        // [inputs][outputsP] matrix. Strips of four vectors of columns walk all the rows (each
        // cache line of the matrix read once), two rows at a time into two sets of
        // accumulators so that eight FMA chains are in flight.
        let lanes = Lane.scalarCount
        var j = 0
        while j + 4 * lanes <= outputsP {
            gemvStrip4(Lane.self, input: input, packed: packed + j, bias: bias + j, output: output + j)
            j += 4 * lanes
        }
        while j + lanes <= outputsP {
            gemvStrip1(Lane.self, input: input, packed: packed + j, bias: bias + j, output: output + j)
            j += lanes
        }
        if j < outputsP {  // AVX-512: a last 8 columns
            gemvStrip1(SIMD8<Float>.self, input: input, packed: packed + j, bias: bias + j, output: output + j)
        }
    }

    /// output[0 ..< 4V] = bias + sum over rows i of input[i] * packed[i][0 ..< 4V].
    @inline(__always)
    private func gemvStrip4<V: SIMD>(
        _: V.Type, input: UnsafePointer<Float>, packed: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) where V.Scalar == Float {
        let w = V.scalarCount
        let ld = outputsP
        var x0: V = load(bias)
        var x1: V = load(bias + w)
        var x2: V = load(bias + 2 * w)
        var x3: V = load(bias + 3 * w)
        var y0 = V(repeating: 0)
        var y1 = V(repeating: 0)
        var y2 = V(repeating: 0)
        var y3 = V(repeating: 0)
        var row = packed
        var i = 0
        while i + 2 <= inputs {
            let s = V(repeating: input[i])
            x0 = multiplyAdd(x0, s, load(row))
            x1 = multiplyAdd(x1, s, load(row + w))
            x2 = multiplyAdd(x2, s, load(row + 2 * w))
            x3 = multiplyAdd(x3, s, load(row + 3 * w))
            let t = V(repeating: input[i + 1])
            let next = row + ld
            y0 = multiplyAdd(y0, t, load(next))
            y1 = multiplyAdd(y1, t, load(next + w))
            y2 = multiplyAdd(y2, t, load(next + 2 * w))
            y3 = multiplyAdd(y3, t, load(next + 3 * w))
            row += 2 * ld
            i += 2
        }
        if i < inputs {
            let s = V(repeating: input[i])
            x0 = multiplyAdd(x0, s, load(row))
            x1 = multiplyAdd(x1, s, load(row + w))
            x2 = multiplyAdd(x2, s, load(row + 2 * w))
            x3 = multiplyAdd(x3, s, load(row + 3 * w))
        }
        store(x0 + y0, output)
        store(x1 + y1, output + w)
        store(x2 + y2, output + 2 * w)
        store(x3 + y3, output + 3 * w)
    }

    /// output[0 ..< V] = bias + sum over rows i of input[i] * packed[i][0 ..< V], four rows at a time.
    @inline(__always)
    private func gemvStrip1<V: SIMD>(
        _: V.Type, input: UnsafePointer<Float>, packed: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) where V.Scalar == Float {
        let ld = outputsP
        var x0: V = load(bias)
        var x1 = V(repeating: 0)
        var x2 = V(repeating: 0)
        var x3 = V(repeating: 0)
        var row = packed
        var i = 0
        while i + 4 <= inputs {
            x0 = multiplyAdd(x0, V(repeating: input[i]), load(row))
            x1 = multiplyAdd(x1, V(repeating: input[i + 1]), load(row + ld))
            x2 = multiplyAdd(x2, V(repeating: input[i + 2]), load(row + 2 * ld))
            x3 = multiplyAdd(x3, V(repeating: input[i + 3]), load(row + 3 * ld))
            row += 4 * ld
            i += 4
        }
        while i < inputs {
            x0 = multiplyAdd(x0, V(repeating: input[i]), load(row))
            row += ld
            i += 1
        }
        store((x0 + x1) + (x2 + x3), output)
    }

    /// dW[i][o] += input[i] * dOutput[o]; dBias += dOutput.
    func backwardWeights(
        input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
        dPacked: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>
    ) {
        gemmAccumulate(
            m: inputs, n: outputsP, a: input, rows: .linear(step: 1), b: dOutput,
            reduction: Reduction(n1: 1, n2: 1, aStride1: 0, aStride2: 0, bStride1: 0, bStride2: 0),
            c: dPacked, ldc: outputsP)
        for o in 0 ..< outputsP { dBias[o] += dOutput[o] }
    }

    /// dInput[i] = sum_o dOutput[o] * W[o][i] (overwritten; inputsP entries).
    func backwardInput(
        dOutput: UnsafePointer<Float>, packedT: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>
    ) {
        dInput.initialize(repeating: 0, count: inputsP)
        gemmAccumulate(
            m: 1, n: inputsP, a: dOutput, rows: .linear(step: 0), b: packedT,
            reduction: .contiguous(outputsP, ldb: inputsP), c: dInput, ldc: inputsP)
    }
}
