import STNKernelInterface

/// Elementwise activations over NHWC buffers of `pixels` pixels, `stride` floats each, of
/// which the first `channels` are real: whole vectors (16 lanes with AVX-512, else 8) when
/// channels == stride, else eight lanes at a time per pixel with the padding lanes
/// (channels ..< stride) written 0. exp, tanh and erf are the polynomial forms of
/// `VectorMath.swift`.
enum Activation {
    /// output = f(input) on lanes c < channels; padding lanes are written 0. input may equal
    /// output (in place).
    static func forward(
        _ kind: ActivationKind, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, pixels: Int,
        channels: Int, stride: Int
    ) {
        let layout = Elementwise(pixels: pixels, channels: channels, stride: stride)
        switch kind {
        case .leakyReLU(let slope): layout.forward(LeakyReLUFunction(slope: slope), input, output)
        case .elu(let alpha): layout.forward(ELUFunction(alpha: alpha), input, output)
        case .tanh: layout.forward(TanhFunction(), input, output)
        case .sigmoid: layout.forward(SigmoidFunction(), input, output)
        case .silu: layout.forward(SiLUFunction(), input, output)
        case .clip(let low, let high): layout.forward(ClipFunction(low: low, high: high), input, output)
        case .hardSigmoid(let alpha, let beta):
            layout.forward(HardSigmoidFunction(alpha: alpha, beta: beta), input, output)
        case .hardSwish: layout.forward(HardSwishFunction(), input, output)
        case .gelu: layout.forward(GELUFunction(), input, output)
        }
    }

    /// dInput = f'(x) * dOutput (overwrites dInput; padding lanes 0), from the input x and
    /// the forward output y. The derivatives are exact rather than taken from y where y
    /// loses them: sigmoid' = e / (1 + e)^2 and tanh' = 4 e / (1 + e)^2 with e = exp(-|x|)
    /// (resp. exp(-2|x|)), not y (1 - y) and 1 - y^2, which cancel as y nears 1.
    static func backward(
        _ kind: ActivationKind, input: UnsafePointer<Float>, output: UnsafePointer<Float>,
        dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>, pixels: Int, channels: Int, stride: Int
    ) {
        let layout = Elementwise(pixels: pixels, channels: channels, stride: stride)
        switch kind {
        case .leakyReLU(let slope): layout.backward(LeakyReLUFunction(slope: slope), input, output, dOutput, dInput)
        case .elu(let alpha): layout.backward(ELUFunction(alpha: alpha), input, output, dOutput, dInput)
        case .tanh: layout.backward(TanhFunction(), input, output, dOutput, dInput)
        case .sigmoid: layout.backward(SigmoidFunction(), input, output, dOutput, dInput)
        case .silu: layout.backward(SiLUFunction(), input, output, dOutput, dInput)
        case .clip(let low, let high):
            layout.backward(ClipFunction(low: low, high: high), input, output, dOutput, dInput)
        case .hardSigmoid(let alpha, let beta):
            layout.backward(HardSigmoidFunction(alpha: alpha, beta: beta), input, output, dOutput, dInput)
        case .hardSwish: layout.backward(HardSwishFunction(), input, output, dOutput, dInput)
        case .gelu: layout.backward(GELUFunction(), input, output, dOutput, dInput)
        }
    }

    /// PReLU: x > 0 ? x : slope * x, with one slope per channel (`slopes` has `stride` floats,
    /// padding lanes 0), or one shared slope (slopes[0]) when `sharedSlope`.
    static func preluForward(
        input: UnsafePointer<Float>, slopes: UnsafePointer<Float>, sharedSlope: Bool,
        output: UnsafeMutablePointer<Float>, pixels: Int, stride: Int
    ) {
        if sharedSlope {
            Elementwise(pixels: pixels, channels: stride, stride: stride).forward(
                LeakyReLUFunction(slope: slopes[0]), input, output)
            return
        }
        @inline(__always) func chunk<V: FloatVector>(_: V.Type, _ at: Int, _ slope: UnsafePointer<Float>) {
            let x: V = load(input + at)
            store(x.replacing(with: x * load(slope), where: .!(x .> V(repeating: 0))), output + at)
        }
        for p in 0 ..< pixels {
            let base = p * stride
            var j = 0
            while j + Lane.scalarCount <= stride {
                chunk(Lane.self, base + j, slopes + j)
                j += Lane.scalarCount
            }
            while j < stride {
                chunk(SIMD8<Float>.self, base + j, slopes + j)
                j += 8
            }
        }
    }

    /// dInput = (x > 0 ? 1 : slope) * dOutput, overwritten if non-nil; dSlopes += the sum
    /// over pixels of (x > 0 ? 0 : x) * dOutput, per channel (`stride` floats), or all of it
    /// into dSlopes[0] when `sharedSlope`.
    static func preluBackward(
        input: UnsafePointer<Float>, slopes: UnsafePointer<Float>, sharedSlope: Bool, dOutput: UnsafePointer<Float>,
        dInput: UnsafeMutablePointer<Float>?, dSlopes: UnsafeMutablePointer<Float>, pixels: Int, stride: Int
    ) {
        precondition(stride % 8 == 0, "prelu: stride must be a multiple of 8")
        // One channel block at a time down all pixels, so the slope gradient stays in a register.
        @inline(__always) func column<V: FloatVector>(_: V.Type, _ j: Int) -> V {
            let slope: V = sharedSlope ? V(repeating: slopes[0]) : load(slopes + j)
            let zero = V(repeating: 0)
            var sum = zero
            for p in 0 ..< pixels {
                let at = p * stride + j
                let x: V = load(input + at)
                let g: V = load(dOutput + at)
                let positive = x .> zero
                if let dInput { store(g.replacing(with: g * slope, where: .!positive), dInput + at) }
                sum = sum + (x * g).replacing(with: zero, where: positive)
            }
            return sum
        }
        var shared: Float = 0
        var j = 0
        while j + Lane.scalarCount <= stride {
            let sum = column(Lane.self, j)
            if sharedSlope { shared += sum.sum() } else { store(load(dSlopes + j) + sum, dSlopes + j) }
            j += Lane.scalarCount
        }
        while j < stride {
            let sum = column(SIMD8<Float>.self, j)
            if sharedSlope { shared += sum.sum() } else { store(load(dSlopes + j) + sum, dSlopes + j) }
            j += 8
        }
        if sharedSlope { dSlopes[0] += shared }
    }
}

// MARK: The functions

/// One elementwise function: its value and its derivative times the output gradient, on
/// any vector width.
protocol ElementwiseFunction {
    func value<V: FloatVector>(_ x: V) -> V
    /// f'(x) * g, given x and y = f(x).
    func gradient<V: FloatVector>(x: V, y: V, g: V) -> V
}

struct LeakyReLUFunction: ElementwiseFunction {
    let slope: Float
    @inline(__always) func value<V: FloatVector>(_ x: V) -> V {
        x.replacing(with: x * V(repeating: slope), where: .!(x .> V(repeating: 0)))
    }
    @inline(__always) func gradient<V: FloatVector>(x: V, y: V, g: V) -> V {
        g.replacing(with: g * V(repeating: slope), where: .!(x .> V(repeating: 0)))
    }
}

struct ELUFunction: ElementwiseFunction {
    let alpha: Float
    @inline(__always) func value<V: FloatVector>(_ x: V) -> V {
        let positive = x .> V(repeating: 0)
        return (V(repeating: alpha) * vectorExpm1(x.replacing(with: 0, where: positive))).replacing(
            with: x, where: positive)
    }
    @inline(__always) func gradient<V: FloatVector>(x: V, y: V, g: V) -> V {
        let positive = x .> V(repeating: 0)
        return (g * V(repeating: alpha) * vectorExp(x.replacing(with: 0, where: positive))).replacing(
            with: g, where: positive)
    }
}

struct TanhFunction: ElementwiseFunction {
    @inline(__always) func value<V: FloatVector>(_ x: V) -> V { vectorTanh(x) }
    @inline(__always) func gradient<V: FloatVector>(x: V, y: V, g: V) -> V {
        // 1 - tanh^2 = 4 e / (1 + e)^2, e = exp(-2|x|).
        let e = vectorExp(vabs(x) * V(repeating: -2))
        let d = V(repeating: 1) + e
        return g * (V(repeating: 4) * e / (d * d))
    }
}

struct SigmoidFunction: ElementwiseFunction {
    @inline(__always) func value<V: FloatVector>(_ x: V) -> V { vectorSigmoid(x).sigma }
    @inline(__always) func gradient<V: FloatVector>(x: V, y: V, g: V) -> V {
        let s = vectorSigmoid(x)
        return g * (s.sigma * s.complement)
    }
}

struct SiLUFunction: ElementwiseFunction {
    @inline(__always) func value<V: FloatVector>(_ x: V) -> V { x * vectorSigmoid(x).sigma }
    @inline(__always) func gradient<V: FloatVector>(x: V, y: V, g: V) -> V {
        // sigma (1 + x (1 - sigma))
        let s = vectorSigmoid(x)
        return g * (s.sigma * vfma(x, s.complement, V(repeating: 1)))
    }
}

struct ClipFunction: ElementwiseFunction {
    let low: Float, high: Float
    @inline(__always) func value<V: FloatVector>(_ x: V) -> V {
        let l = V(repeating: low)
        let h = V(repeating: high)
        return x.replacing(with: l, where: x .< l).replacing(with: h, where: x .> h)
    }
    @inline(__always) func gradient<V: FloatVector>(x: V, y: V, g: V) -> V {
        // PyTorch's hardtanh_backward: 0 where x <= min or x >= max.
        g.replacing(with: 0, where: (x .<= V(repeating: low)) .| (x .>= V(repeating: high)))
    }
}

struct HardSigmoidFunction: ElementwiseFunction {
    let alpha: Float, beta: Float
    @inline(__always) func value<V: FloatVector>(_ x: V) -> V {
        let t = vfma(V(repeating: alpha), x, V(repeating: beta))
        return t.replacing(with: 0, where: t .< V(repeating: 0)).replacing(with: 1, where: t .> V(repeating: 1))
    }
    @inline(__always) func gradient<V: FloatVector>(x: V, y: V, g: V) -> V {
        let t = vfma(V(repeating: alpha), x, V(repeating: beta))
        let inside = (t .> V(repeating: 0)) .& (t .< V(repeating: 1))
        return V(repeating: 0).replacing(with: g * V(repeating: alpha), where: inside)
    }
}

struct HardSwishFunction: ElementwiseFunction {
    @inline(__always) func value<V: FloatVector>(_ x: V) -> V {
        var t = x + V(repeating: 3)
        t.replace(with: 0, where: t .< V(repeating: 0))
        t.replace(with: 6, where: t .> V(repeating: 6))
        return x * t / V(repeating: 6)
    }
    @inline(__always) func gradient<V: FloatVector>(x: V, y: V, g: V) -> V {
        // PyTorch's hardswish_backward: 0 below -3, g (x / 3 + 0.5) up to 3, g above.
        let middle = g * (x / V(repeating: 3) + V(repeating: 0.5))
        return g.replacing(with: middle, where: x .<= V(repeating: 3)).replacing(
            with: 0, where: x .< V(repeating: -3))
    }
}

struct GELUFunction: ElementwiseFunction {
    @inline(__always) func value<V: FloatVector>(_ x: V) -> V { x * vectorNormal(x).cdf }
    @inline(__always) func gradient<V: FloatVector>(x: V, y: V, g: V) -> V {
        let n = vectorNormal(x)
        return g * vfma(x, n.pdf, n.cdf)
    }
}

/// How an elementwise pass walks a buffer: flat over whole vectors when every lane is a
/// channel, else pixel by pixel with the padding lanes written 0.
struct Elementwise {
    let pixels: Int, channels: Int, stride: Int

    @inline(__always)
    func forward<F: ElementwiseFunction>(_ f: F, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
        walk { at in
            store(f.value(load(input + at) as Lane), output + at)
        } eight: {
            at, valid in
            let y = f.value(load(input + at) as SIMD8<Float>)
            store(y.replacing(with: 0, where: .!(laneIndex8 .< SIMD8<Int32>(repeating: Int32(valid)))), output + at)
        }
    }

    @inline(__always)
    func backward<F: ElementwiseFunction>(
        _ f: F, _ input: UnsafePointer<Float>, _ output: UnsafePointer<Float>, _ dOutput: UnsafePointer<Float>,
        _ dInput: UnsafeMutablePointer<Float>
    ) {
        walk { at in
            let d = f.gradient(x: load(input + at) as Lane, y: load(output + at), g: load(dOutput + at))
            store(d, dInput + at)
        } eight: { at, valid in
            let d = f.gradient(
                x: load(input + at) as SIMD8<Float>, y: load(output + at), g: load(dOutput + at))
            store(d.replacing(with: 0, where: .!(laneIndex8 .< SIMD8<Int32>(repeating: Int32(valid)))), dInput + at)
        }
    }

    /// Calls `wide` for each whole vector of channels, and `eight` for each eight lanes of
    /// which the first `valid` (0 to 8) are channels.
    @inline(__always)
    func walk(_ wide: (Int) -> Void, eight: (Int, Int) -> Void) {
        precondition(channels == stride || stride % 8 == 0, "activation: stride must be a multiple of 8")
        if channels == stride {
            let n = pixels * stride
            var i = 0
            while i + Lane.scalarCount <= n {
                wide(i)
                i += Lane.scalarCount
            }
            while i < n {
                eight(i, min(8, n - i))
                i += 8
            }
            return
        }
        for p in 0 ..< pixels {
            let base = p * stride
            var j = 0
            while j + Lane.scalarCount <= channels {
                wide(base + j)
                j += Lane.scalarCount
            }
            while j < stride {
                eight(base + j, max(0, min(8, channels - j)))
                j += 8
            }
        }
    }
}

/// 0 ... 7, for masks of the first n lanes.
@inline(__always)
var laneIndex8: SIMD8<Int32> { SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) }
