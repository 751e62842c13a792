import STNKernelInterface

/// Max and average pooling (`PoolShape`), forward and backward.
extension PoolShape {
    /// One output's window clipped to the input: rows y0 ..< y1, columns x0 ..< x1, and the
    /// average's divisor.
    struct Window {
        var y0: Int, y1: Int, x0: Int, x1: Int
        var divisor: Float
    }

    /// Calls `body` with each output pixel's index (in pixels) and window, in order.
    @inline(__always)
    func forEachWindow(_ body: (Int, Window) -> Void) {
        for oy in 0 ..< outH {
            let top = oy * strideH - padTop
            let y0 = max(top, 0)
            let y1 = min(top + kernelH, inH)
            let paddedRows = min(top + kernelH, inH + padBottom) - top
            for ox in 0 ..< outW {
                let left = ox * strideW - padLeft
                let x0 = max(left, 0)
                let x1 = min(left + kernelW, inW)
                let count =
                    countIncludePad
                    ? paddedRows * (min(left + kernelW, inW + padRight) - left) : max(0, y1 - y0) * max(0, x1 - x0)
                body(oy * outW + ox, Window(y0: y0, y1: max(y0, y1), x0: x0, x1: max(x0, x1), divisor: Float(count)))
            }
        }
    }

    /// Maximum of each window; `argmax` (optional) receives the input index of the first
    /// maximum in scan order, as PyTorch keeps it (the first NaN if any: NaN wins, so a
    /// non-finite input is not hidden). A window wholly in the padding gives -infinity and
    /// argmax -1.
    func maxForward(
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>?
    ) {
        let c = channels
        @inline(__always) func column<V: FloatVector>(_: V.Type, _ j: Int, _ o: Int, _ w: Window) {
            var best = V(repeating: -.infinity)
            if let argmax {
                let lanes = V.laneIndices
                let empty = w.y0 == w.y1 || w.x0 == w.x1
                var at =
                    empty
                    ? V.MaskStorage(repeating: -1)
                    : lanes &+ V.MaskStorage(repeating: .init((w.y0 * inW + w.x0) * c + j))
                for y in w.y0 ..< w.y1 {
                    for x in w.x0 ..< w.x1 {
                        let i = (y * inW + x) * c + j
                        let v: V = load(input + i)
                        let wins = maxWins(v, over: best)
                        best.replace(with: v, where: wins)
                        at = V.select(lanes &+ V.MaskStorage(repeating: .init(i)), where: wins, else: at)
                    }
                }
                UnsafeMutableRawPointer(argmax + o + j).storeBytes(of: at, as: V.MaskStorage.self)
            } else {
                for y in w.y0 ..< w.y1 {
                    for x in w.x0 ..< w.x1 {
                        let v: V = load(input + (y * inW + x) * c + j)
                        best.replace(with: v, where: maxWins(v, over: best))
                    }
                }
            }
            store(best, output + o + j)
        }
        // A channel count that is not a multiple of 8 (a planar input): its last lanes one by one.
        @inline(__always) func lane(_ j: Int, _ o: Int, _ w: Window) {
            var best = -Float.infinity
            var at = w.y0 == w.y1 || w.x0 == w.x1 ? -1 : (w.y0 * inW + w.x0) * c + j
            for y in w.y0 ..< w.y1 {
                for x in w.x0 ..< w.x1 {
                    let i = (y * inW + x) * c + j
                    let v = input[i]
                    if v > best || (v.isNaN && !best.isNaN) {
                        best = v
                        at = i
                    }
                }
            }
            output[o + j] = best
            argmax?[o + j] = Int32(at)
        }
        forEachWindow { p, w in
            forEachColumn(c, Lane.self) {
                column(Lane.self, $0, p * c, w)
            } eight: {
                column(SIMD8<Float>.self, $0, p * c, w)
            } one: {
                lane($0, p * c, w)
            }
        }
    }

    /// dInput (overwritten): each output's gradient goes to its maximum.
    func maxBackward(
        dOutput: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, dInput: UnsafeMutablePointer<Float>
    ) {
        dInput.initialize(repeating: 0, count: inputCount)
        for o in 0 ..< outputCount where argmax[o] >= 0 { dInput[Int(argmax[o])] += dOutput[o] }
    }

    /// Mean of each window (see the type's note on the divisor).
    func averageForward(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        let c = channels
        @inline(__always) func column<V: FloatVector>(_: V.Type, _ j: Int, _ o: Int, _ w: Window) {
            var sum = V(repeating: 0)
            for y in w.y0 ..< w.y1 {
                for x in w.x0 ..< w.x1 { sum = sum + load(input + (y * inW + x) * c + j) }
            }
            store(sum / V(repeating: w.divisor), output + o + j)
        }
        @inline(__always) func lane(_ j: Int, _ o: Int, _ w: Window) {
            var sum: Float = 0
            for y in w.y0 ..< w.y1 {
                for x in w.x0 ..< w.x1 { sum += input[(y * inW + x) * c + j] }
            }
            output[o + j] = sum / w.divisor
        }
        forEachWindow { p, w in
            forEachColumn(c, Lane.self) {
                column(Lane.self, $0, p * c, w)
            } eight: {
                column(SIMD8<Float>.self, $0, p * c, w)
            } one: {
                lane($0, p * c, w)
            }
        }
    }

    /// dInput (overwritten): each output's gradient divided by its divisor, added to every
    /// input of its window.
    func averageBackward(dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>) {
        dInput.initialize(repeating: 0, count: inputCount)
        let c = channels
        @inline(__always) func column<V: FloatVector>(_: V.Type, _ j: Int, _ o: Int, _ w: Window) {
            let g = (load(dOutput + o + j) as V) / V(repeating: w.divisor)
            for y in w.y0 ..< w.y1 {
                for x in w.x0 ..< w.x1 {
                    let at = dInput + (y * inW + x) * c + j
                    store(load(at) + g, at)
                }
            }
        }
        @inline(__always) func lane(_ j: Int, _ o: Int, _ w: Window) {
            let g = dOutput[o + j] / w.divisor
            for y in w.y0 ..< w.y1 {
                for x in w.x0 ..< w.x1 { dInput[(y * inW + x) * c + j] += g }
            }
        }
        forEachWindow { p, w in
            forEachColumn(c, Lane.self) {
                column(Lane.self, $0, p * c, w)
            } eight: {
                column(SIMD8<Float>.self, $0, p * c, w)
            } one: {
                lane($0, p * c, w)
            }
        }
    }
}
