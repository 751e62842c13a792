import STNKernelInterface

/// Global average and max pooling (`GlobalPoolShape`), forward and backward.
extension GlobalPoolShape {
    /// output[c] = the mean over pixels of input[p][c] (channels floats).
    func averageForward(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        precondition(channels % 8 == 0, "global pool: channels must be a multiple of 8")
        @inline(__always) func column<V: FloatVector>(_: V.Type, _ j: Int) {
            let zero = V(repeating: 0)
            var s0 = zero
            var s1 = zero
            var s2 = zero
            var s3 = zero
            var p = 0
            let c = channels
            var at = input + j
            while p + 4 <= pixels {
                s0 = s0 + load(at)
                s1 = s1 + load(at + c)
                s2 = s2 + load(at + 2 * c)
                s3 = s3 + load(at + 3 * c)
                at += 4 * c
                p += 4
            }
            while p < pixels {
                s0 = s0 + load(at)
                at += c
                p += 1
            }
            store(((s0 + s1) + (s2 + s3)) / V(repeating: Float(pixels)), output + j)
        }
        forEachColumn(channels, Lane.self) {
            column(Lane.self, $0)
        } eight: {
            column(SIMD8<Float>.self, $0)
        }
    }

    /// dInput[p][c] = dOutput[c] / pixels (overwritten).
    func averageBackward(dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>) {
        precondition(channels % 8 == 0, "global pool: channels must be a multiple of 8")
        let scale = Float(pixels)
        @inline(__always) func column<V: FloatVector>(_: V.Type, _ j: Int) {
            let g = (load(dOutput + j) as V) / V(repeating: scale)
            var at = dInput + j
            for _ in 0 ..< pixels {
                store(g, at)
                at += channels
            }
        }
        forEachColumn(channels, Lane.self) {
            column(Lane.self, $0)
        } eight: {
            column(SIMD8<Float>.self, $0)
        }
    }

    /// output[c] = the maximum over pixels; `argmax` (optional, channels entries) receives
    /// the input index (p * channels + c) of the first maximum in scan order. NaN wins (the
    /// first one), as in `PoolShape.maxForward`.
    func maxForward(
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>?
    ) {
        precondition(channels % 8 == 0, "global pool: channels must be a multiple of 8")
        @inline(__always) func column<V: FloatVector>(_: V.Type, _ j: Int) {
            var best = V(repeating: -.infinity)
            let c = channels
            if let argmax {
                let lanes = V.laneIndices
                var at = lanes &+ V.MaskStorage(repeating: V.MaskStorage.Scalar(j))
                var index = at
                let step = V.MaskStorage(repeating: V.MaskStorage.Scalar(c))
                var p = input + j
                for _ in 0 ..< pixels {
                    let v: V = load(p)
                    let wins = maxWins(v, over: best)
                    best.replace(with: v, where: wins)
                    at = V.select(index, where: wins, else: at)
                    index = index &+ step
                    p += c
                }
                UnsafeMutableRawPointer(argmax + j).storeBytes(of: at, as: V.MaskStorage.self)
            } else {
                var p = input + j
                for _ in 0 ..< pixels {
                    let v: V = load(p)
                    best.replace(with: v, where: maxWins(v, over: best))
                    p += c
                }
            }
            store(best, output + j)
        }
        forEachColumn(channels, Lane.self) {
            column(Lane.self, $0)
        } eight: {
            column(SIMD8<Float>.self, $0)
        }
    }

    /// dInput (overwritten): each channel's gradient goes to its maximum.
    func maxBackward(
        dOutput: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, dInput: UnsafeMutablePointer<Float>
    ) {
        dInput.initialize(repeating: 0, count: pixels * channels)
        for c in 0 ..< channels { dInput[Int(argmax[c])] += dOutput[c] }
    }
}

/// Where a maximum pass replaces its best so far: a larger value, or the first NaN.
@inline(__always)
func maxWins<V: FloatVector>(_ v: V, over best: V) -> SIMDMask<V.MaskStorage> {
    (v .> best) .| ((v .!= v) .& (best .== best))
}

/// Calls `wide` for each whole vector of a row of `count` floats (a multiple of 8), then
/// `eight` for the eight left over with 16-lane vectors.
@inline(__always)
func forEachColumn<W: SIMD>(_ count: Int, _: W.Type, _ wide: (Int) -> Void, eight: (Int) -> Void) {
    var j = 0
    while j + W.scalarCount <= count {
        wide(j)
        j += W.scalarCount
    }
    while j < count {
        eight(j)
        j += 8
    }
}

/// The same for any `count`: whole vectors, eights, then `one` for each float left.
@inline(__always)
func forEachColumn<W: SIMD>(
    _ count: Int, _: W.Type, _ wide: (Int) -> Void, eight: (Int) -> Void, one: (Int) -> Void
) {
    var j = 0
    while j + W.scalarCount <= count {
        wide(j)
        j += W.scalarCount
    }
    while j + 8 <= count {
        eight(j)
        j += 8
    }
    while j < count {
        one(j)
        j += 1
    }
}
