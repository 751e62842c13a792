// TEMPORARY scalar stand-ins for the kernels on branch new-kernels (same API); removed when it merges.
#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

public enum ActivationKind: Sendable, Equatable {
    case leakyReLU(slope: Float)
    case elu(alpha: Float)
    case tanh
    case sigmoid
    case silu
    case clip(min: Float, max: Float)
    case hardSigmoid(alpha: Float, beta: Float)
    case hardSwish
    case gelu
}

public enum Activation {
    static func f(_ kind: ActivationKind, _ x: Float) -> Float {
        switch kind {
        case .leakyReLU(let s): return x > 0 ? x : s * x
        case .elu(let a): return x > 0 ? x : a * (expf(x) - 1)
        case .tanh: return tanhf(x)
        case .sigmoid: return 1 / (1 + expf(-x))
        case .silu: return x / (1 + expf(-x))
        case .clip(let lo, let hi): return Swift.min(Swift.max(x, lo), hi)
        case .hardSigmoid(let a, let b): return Swift.max(0, Swift.min(1, a * x + b))
        case .hardSwish: return x * Swift.max(0, Swift.min(1, x / 6 + 0.5))
        case .gelu: return 0.5 * x * (1 + erff(x / Float(2).squareRoot()))
        }
    }
    static func d(_ kind: ActivationKind, _ x: Float, _ y: Float) -> Float {
        switch kind {
        case .leakyReLU(let s): return x > 0 ? 1 : s
        case .elu(let a): return x > 0 ? 1 : y + a
        case .tanh: return 1 - y * y
        case .sigmoid: return y * (1 - y)
        case .silu:
            let s = 1 / (1 + expf(-x))
            return s * (1 + x * (1 - s))
        case .clip(let lo, let hi): return x > lo && x < hi ? 1 : 0
        case .hardSigmoid(let a, let b):
            let v = a * x + b
            return v > 0 && v < 1 ? a : 0
        case .hardSwish: return x < -3 ? 0 : (x > 3 ? 1 : x / 3 + 0.5)
        case .gelu:
            return 0.5 * (1 + erff(x / Float(2).squareRoot())) + x * expf(-x * x / 2) / (2 * Float.pi).squareRoot()
        }
    }
    public static func forward(
        _ kind: ActivationKind, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, pixels: Int,
        channels: Int, stride: Int
    ) {
        for p in 0 ..< pixels {
            for c in 0 ..< stride { output[p * stride + c] = c < channels ? f(kind, input[p * stride + c]) : 0 }
        }
    }
    public static func backward(
        _ kind: ActivationKind, input: UnsafePointer<Float>, output: UnsafePointer<Float>,
        dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>, pixels: Int, channels: Int, stride: Int
    ) {
        for p in 0 ..< pixels {
            for c in 0 ..< stride {
                let i = p * stride + c
                dInput[i] = c < channels ? d(kind, input[i], output[i]) * dOutput[i] : 0
            }
        }
    }
    public static func preluForward(
        input: UnsafePointer<Float>, slopes: UnsafePointer<Float>, sharedSlope: Bool,
        output: UnsafeMutablePointer<Float>, pixels: Int, stride: Int
    ) {
        for p in 0 ..< pixels {
            for c in 0 ..< stride {
                let x = input[p * stride + c]
                output[p * stride + c] = x > 0 ? x : (sharedSlope ? slopes[0] : slopes[c]) * x
            }
        }
    }
    public static func preluBackward(
        input: UnsafePointer<Float>, slopes: UnsafePointer<Float>, sharedSlope: Bool, dOutput: UnsafePointer<Float>,
        dInput: UnsafeMutablePointer<Float>?, dSlopes: UnsafeMutablePointer<Float>, pixels: Int, stride: Int
    ) {
        for p in 0 ..< pixels {
            for c in 0 ..< stride {
                let i = p * stride + c
                let x = input[i]
                let s = sharedSlope ? slopes[0] : slopes[c]
                dInput?[i] = x > 0 ? dOutput[i] : s * dOutput[i]
                if x <= 0 { dSlopes[sharedSlope ? 0 : c] += x * dOutput[i] }
            }
        }
    }
}

public struct GlobalPoolShape: Sendable, Equatable {
    public let pixels: Int, channels: Int
    public init(pixels: Int, channels: Int) {
        self.pixels = pixels
        self.channels = channels
    }
    public func averageForward(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        for c in 0 ..< channels {
            var s: Float = 0
            for p in 0 ..< pixels { s += input[p * channels + c] }
            output[c] = s / Float(pixels)
        }
    }
    public func averageBackward(dOutput: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>) {
        for p in 0 ..< pixels { for c in 0 ..< channels { dInput[p * channels + c] = dOutput[c] / Float(pixels) } }
    }
    public func maxForward(
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>?
    ) {
        for c in 0 ..< channels {
            var best = -Float.infinity
            var at = c
            for p in 0 ..< pixels where input[p * channels + c] > best || input[p * channels + c].isNaN {
                best = input[p * channels + c]
                at = p * channels + c
                if best.isNaN { break }
            }
            output[c] = best
            argmax?[c] = Int32(at)
        }
    }
    public func maxBackward(
        dOutput: UnsafePointer<Float>, argmax: UnsafePointer<Int32>, dInput: UnsafeMutablePointer<Float>
    ) {
        dInput.initialize(repeating: 0, count: pixels * channels)
        for c in 0 ..< channels { dInput[Int(argmax[c])] += dOutput[c] }
    }
}

public struct DepthwiseConv2DShape: Sendable, Equatable {
    public let inH: Int, inW: Int, channels: Int
    public let kernelH: Int, kernelW: Int, strideH: Int, strideW: Int
    public let padTop: Int, padLeft: Int, padBottom: Int, padRight: Int
    public let dilationH: Int, dilationW: Int
    public var outH: Int { (inH + padTop + padBottom - dilationH * (kernelH - 1) - 1) / strideH + 1 }
    public var outW: Int { (inW + padLeft + padRight - dilationW * (kernelW - 1) - 1) / strideW + 1 }
    public init(
        inH: Int, inW: Int, channels: Int, kernelH: Int, kernelW: Int, strideH: Int, strideW: Int, padTop: Int,
        padLeft: Int, padBottom: Int, padRight: Int, dilationH: Int, dilationW: Int
    ) {
        (self.inH, self.inW, self.channels) = (inH, inW, channels)
        (self.kernelH, self.kernelW, self.strideH, self.strideW) = (kernelH, kernelW, strideH, strideW)
        (self.padTop, self.padLeft, self.padBottom, self.padRight) = (padTop, padLeft, padBottom, padRight)
        (self.dilationH, self.dilationW) = (dilationH, dilationW)
    }
    public func pack(torch w: UnsafePointer<Float>, realChannels: Int, into packed: UnsafeMutablePointer<Float>) {
        packed.initialize(repeating: 0, count: kernelH * kernelW * channels)
        for c in 0 ..< realChannels {
            for t in 0 ..< kernelH * kernelW { packed[t * channels + c] = w[c * kernelH * kernelW + t] }
        }
    }
    public func unpackAdding(packed: UnsafePointer<Float>, realChannels: Int, into w: UnsafeMutablePointer<Float>) {
        for c in 0 ..< realChannels {
            for t in 0 ..< kernelH * kernelW { w[c * kernelH * kernelW + t] += packed[t * channels + c] }
        }
    }
    func each(_ body: (Int, Int, Int) -> Void) {
        for oy in 0 ..< outH {
            for ox in 0 ..< outW {
                for ky in 0 ..< kernelH {
                    let iy = oy * strideH - padTop + ky * dilationH
                    if iy < 0 || iy >= inH { continue }
                    for kx in 0 ..< kernelW {
                        let ix = ox * strideW - padLeft + kx * dilationW
                        if ix < 0 || ix >= inW { continue }
                        body((oy * outW + ox) * channels, (iy * inW + ix) * channels, (ky * kernelW + kx) * channels)
                    }
                }
            }
        }
    }
    public func forward(
        input: UnsafePointer<Float>, packed: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) {
        for o in 0 ..< outH * outW { for c in 0 ..< channels { output[o * channels + c] = bias[c] } }
        each { o, i, t in for c in 0 ..< channels { output[o + c] += input[i + c] * packed[t + c] } }
    }
    public func backwardInput(
        dOutput: UnsafePointer<Float>, packed: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>
    ) {
        dInput.initialize(repeating: 0, count: inH * inW * channels)
        each { o, i, t in for c in 0 ..< channels { dInput[i + c] += dOutput[o + c] * packed[t + c] } }
    }
    public func backwardWeights(
        input: UnsafePointer<Float>, dOutput: UnsafePointer<Float>, dPacked: UnsafeMutablePointer<Float>,
        dBias: UnsafeMutablePointer<Float>
    ) {
        for o in 0 ..< outH * outW { for c in 0 ..< channels { dBias[c] += dOutput[o * channels + c] } }
        each { o, i, t in for c in 0 ..< channels { dPacked[t + c] += dOutput[o + c] * input[i + c] } }
    }
}

extension PoolShape {
    /// TEMPORARY: ignores padding (the real one is on branch new-kernels).
    public init(
        inH: Int, inW: Int, channels: Int, kernelH: Int, kernelW: Int, strideH: Int, strideW: Int, padTop: Int,
        padLeft: Int, outH: Int, outW: Int, countIncludePad: Bool, padBottom: Int, padRight: Int
    ) {
        self.init(
            inH: inH, inW: inW, channels: channels, kernelH: kernelH, kernelW: kernelW, strideH: strideH,
            strideW: strideW)
    }
}
