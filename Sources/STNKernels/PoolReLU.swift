import STNKernelInterface

/// The 2 x 2, stride-2 max pool and its ReLU (`PoolReLUShape`), forward and backward.
extension PoolReLUShape {
    /// `argmax` (optional, outputCount entries) receives the input index of each maximum.
    /// Eight channels at a time (channel counts are padded to 8): a scalar loop with a
    /// branch per comparison took as long as the classifier's convolutions.
    func forward(
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>?
    ) {
        let c = channels
        precondition(c % 8 == 0, "pool: channels must be padded to a multiple of 8")
        let lanes = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
        let zero = SIMD8<Float>(repeating: 0)
        for y in 0 ..< outH {
            for x in 0 ..< outW {
                let i00 = ((2 * y) * inW + 2 * x) * c
                let i01 = i00 + c
                let i10 = i00 + inW * c
                let i11 = i10 + c
                let o = (y * outW + x) * c
                var ch = 0
                while ch < c {
                    let v00 = load8(input + i00 + ch)
                    let v01 = load8(input + i01 + ch)
                    let v10 = load8(input + i10 + ch)
                    let v11 = load8(input + i11 + ch)
                    if let argmax {
                        // PyTorch keeps the first maximum in scan order (strictly greater replaces).
                        var best = v00
                        var at = SIMD8<Int32>(repeating: Int32(i00 + ch)) &+ lanes
                        func consider(_ v: SIMD8<Float>, at index: Int) {
                            let wins = v .> best
                            best.replace(with: v, where: wins)
                            at.replace(with: SIMD8<Int32>(repeating: Int32(index + ch)) &+ lanes, where: wins)
                        }
                        consider(v01, at: i01)
                        consider(v10, at: i10)
                        consider(v11, at: i11)
                        store8(larger(best, zero), output + o + ch)
                        UnsafeMutableRawPointer(argmax + o + ch).storeBytes(of: at, as: SIMD8<Int32>.self)
                    } else {
                        let best = larger(larger(v00, v01), larger(v10, v11))
                        store8(larger(best, zero), output + o + ch)
                    }
                    ch += 8
                }
            }
        }
    }

    /// dInput (overwritten): each output's gradient goes to its maximum, if the ReLU passed it.
    func backward(
        dOutput: UnsafePointer<Float>, output: UnsafePointer<Float>, argmax: UnsafePointer<Int32>,
        dInput: UnsafeMutablePointer<Float>
    ) {
        // Every input of a window is written once: the output's gradient where it won (and
        // the ReLU passed it), zero elsewhere; an odd size's last row and column are in no window.
        let c = channels
        if inH % 2 == 1 { (dInput + (inH - 1) * inW * c).initialize(repeating: 0, count: inW * c) }
        if inW % 2 == 1 {
            for y in 0 ..< inH { (dInput + (y * inW + inW - 1) * c).initialize(repeating: 0, count: c) }
        }
        let lanes = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
        let zero = SIMD8<Float>(repeating: 0)
        for y in 0 ..< outH {
            for x in 0 ..< outW {
                let i00 = ((2 * y) * inW + 2 * x) * c
                let o = (y * outW + x) * c
                var ch = 0
                while ch < c {
                    let passed = zero.replacing(with: load8(dOutput + o + ch), where: load8(output + o + ch) .> zero)
                    let winner = UnsafeRawPointer(argmax + o + ch).loadUnaligned(as: SIMD8<Int32>.self)
                    @inline(__always) func route(_ index: Int) {
                        let won = winner .== SIMD8<Int32>(repeating: Int32(index + ch)) &+ lanes
                        store8(zero.replacing(with: passed, where: won), dInput + index + ch)
                    }
                    route(i00)
                    route(i00 + c)
                    route(i00 + inW * c)
                    route(i00 + inW * c + c)
                    ch += 8
                }
            }
        }
    }
}

/// Lane-wise maximum as a compare and a blend: the standard library's `pointwiseMax`
/// compiles to a call that handles lanes one by one.
@inline(__always)
func larger(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> { a.replacing(with: b, where: b .> a) }
