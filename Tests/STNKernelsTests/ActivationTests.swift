import STNKernelInterface
import STNKernelSelection
import XCTest

@testable import STNKernels  // the vector math, internal to each copy of the kernels: the portable copy's

/// The elementwise activations and PReLU against Double references, forward and backward
/// (analytic and finite differences), under every ISA this machine runs; the vector
/// exp / tanh / erf against Double over the float range.
final class ActivationTests: XCTestCase {
    static let kinds: [ActivationKind] = [
        .leakyReLU(slope: 0.01), .leakyReLU(slope: -0.3), .elu(alpha: 1), .elu(alpha: 0.7), .tanh, .sigmoid, .silu,
        .clip(min: 0, max: 6), .clip(min: -1.5, max: 0.5), .hardSigmoid(alpha: 1.0 / 6, beta: 0.5),
        .hardSigmoid(alpha: 0.2, beta: 0.5), .hardSwish, .gelu,
    ]

    static func reference(_ kind: ActivationKind, _ x: Double) -> Double {
        switch kind {
        case .leakyReLU(let slope): return x > 0 ? x : Double(slope) * x
        case .elu(let alpha): return x > 0 ? x : Double(alpha) * expm1(x)
        case .tanh: return Foundation.tanh(x)
        case .sigmoid: return 1 / (1 + exp(-x))
        case .silu: return x / (1 + exp(-x))
        case .clip(let low, let high): return x.isNaN ? x : min(max(x, Double(low)), Double(high))
        case .hardSigmoid(let alpha, let beta):
            let t = Double(alpha) * x + Double(beta)
            return t.isNaN ? t : max(0, min(1, t))
        case .hardSwish: return x.isNaN ? x : x * min(max(x + 3, 0), 6) / 6
        case .gelu: return 0.5 * x * erfc(-x / 2.0.squareRoot())
        }
    }

    static func derivative(_ kind: ActivationKind, _ x: Double) -> Double {
        switch kind {
        case .leakyReLU(let slope): return x > 0 ? 1 : Double(slope)
        case .elu(let alpha): return x > 0 ? 1 : Double(alpha) * exp(x)
        case .tanh:
            let c = cosh(x)
            return 1 / (c * c)
        case .sigmoid:
            let s = 1 / (1 + exp(-x))
            return s * (1 / (1 + exp(x)))
        case .silu:
            let s = 1 / (1 + exp(-x))
            return s * (1 + x * (1 / (1 + exp(x))))
        case .clip(let low, let high): return x > Double(low) && x < Double(high) ? 1 : 0
        case .hardSigmoid(let alpha, let beta):
            let t = Double(alpha) * x + Double(beta)
            return t > 0 && t < 1 ? Double(alpha) : 0
        case .hardSwish: return x < -3 ? 0 : x <= 3 ? x / 3 + 0.5 : 1
        case .gelu: return 0.5 * erfc(-x / 2.0.squareRoot()) + x * exp(-x * x / 2) / (2 * Double.pi).squareRoot()
        }
    }

    /// Points where the function has a kink, for the finite-difference check to stay clear of.
    static func kinks(_ kind: ActivationKind) -> [Double] {
        switch kind {
        case .leakyReLU, .elu: return [0]
        case .clip(let low, let high): return [Double(low), Double(high)]
        case .hardSigmoid(let alpha, let beta): return [Double(-beta / alpha), Double((1 - beta) / alpha)]
        case .hardSwish: return [-3, 3]
        default: return []
        }
    }

    static let special: [Float] = [
        0, -0, 1e-8, -1e-8, 1e-30, -1e-30, 1, -1, 3, -3, 6, 88, -88, 100, -100, .infinity, -.infinity, .nan, 0.625,
        -0.625, 0.74, 0.76, 1.2, -1.2, 9, -9, 12, -12, 15, -15, 40, -40,
    ]

    // MARK: Forward

    func testForwardMatchesDoubleReferenceUnderEveryISA() {
        ISA.forEachAvailable { _ in checkForward() }
    }

    func checkForward() {
        var random = SeededRandom(seed: 7)
        for channels in [3, 8, 13, 16, 24, 40] {
            let stride = roundUpTo8(channels)
            let pixels = 11
            var input = [Float](repeating: 0, count: paddedCount(pixels * stride))
            for p in 0 ..< pixels {
                for c in 0 ..< channels {
                    let k = p * channels + c
                    input[p * stride + c] = k < Self.special.count ? Self.special[k] : random.uniform(-8, 8)
                }
            }
            for kind in Self.kinds {
                var output = [Float](repeating: .nan, count: input.count)
                kernels.activationForward(kind, input, &output, pixels, channels, stride)
                var inPlace = input
                inPlace.withUnsafeMutableBufferPointer {
                    kernels.activationForward(
                        kind, UnsafePointer($0.baseAddress!), $0.baseAddress!, pixels, channels, stride)
                }
                for p in 0 ..< pixels {
                    for c in 0 ..< stride {
                        let i = p * stride + c
                        if c >= channels {
                            XCTAssertEqual(output[i], 0, "\(kind) padding lane \(c) [\(ISA.active)]")
                            continue
                        }
                        let expected = Self.reference(kind, Double(input[i]))
                        // alpha x + beta cancels near 0 in float (by ulp(beta)).
                        let absolute = if case .hardSigmoid = kind { 1e-7 } else { 1e-37 }
                        XCTAssertTrue(
                            close(output[i], expected, relative: 1e-5, absolute: absolute),
                            "\(kind)(\(input[i])) = \(output[i]), expected \(expected) [\(ISA.active), C \(channels)]")
                        XCTAssertTrue(
                            output[i].bitPattern == inPlace[i].bitPattern || (output[i].isNaN && inPlace[i].isNaN),
                            "\(kind) in place differs at \(i)")
                    }
                }
            }
        }
    }

    // MARK: Backward

    func testBackwardMatchesDerivativeAndFiniteDifferencesUnderEveryISA() {
        ISA.forEachAvailable { _ in checkBackward() }
    }

    func checkBackward() {
        var random = SeededRandom(seed: 11)
        for channels in [5, 16, 24] {
            let stride = roundUpTo8(channels)
            let pixels = 9
            let count = paddedCount(pixels * stride)
            var input = [Float](repeating: 0, count: count)
            var dOutput = [Float](repeating: 0, count: count)
            for p in 0 ..< pixels {
                for c in 0 ..< channels {
                    let k = p * channels + c
                    input[p * stride + c] = k < Self.special.count ? Self.special[k] : random.uniform(-7, 7)
                    dOutput[p * stride + c] = random.uniform(-2, 2)
                }
            }
            for kind in Self.kinds {
                var output = [Float](repeating: 0, count: count)
                kernels.activationForward(kind, input, &output, pixels, channels, stride)
                var dInput = [Float](repeating: .nan, count: count)
                kernels.activationBackward(kind, input, output, dOutput, &dInput, pixels, channels, stride)
                for p in 0 ..< pixels {
                    for c in 0 ..< stride {
                        let i = p * stride + c
                        if c >= channels {
                            XCTAssertEqual(dInput[i], 0, "\(kind) padding lane \(c) [\(ISA.active)]")
                            continue
                        }
                        let x = Double(input[i])
                        let kink = Self.kinks(kind).contains { abs($0 - x) < 1e-3 }
                        if x.isFinite && !kink {
                            let expected = Self.derivative(kind, x) * Double(dOutput[i])
                            // SiLU' and GELU' cross zero (near -1.28 and -0.75): an absolute floor.
                            XCTAssertTrue(
                                close(dInput[i], expected, relative: 1e-5, absolute: 1e-7 * abs(Double(dOutput[i]))),
                                "\(kind)'(\(x)) * \(dOutput[i]) = \(dInput[i]), expected \(expected) [\(ISA.active)]")
                        }
                        // Finite differences of the kernel's own forward, away from kinks and saturation.
                        guard abs(x) < 7, !Self.kinks(kind).contains(where: { abs($0 - x) < 0.05 }) else { continue }
                        let h: Float = 1e-2
                        var probe = [Float](repeating: 0, count: 16)
                        probe[0] = Float(x) + h
                        probe[8] = Float(x) - h
                        var values = probe
                        kernels.activationForward(kind, probe, &values, 2, 1, 8)
                        let fd = Double(values[0] - values[8]) / Double(2 * h) * Double(dOutput[i])
                        XCTAssertEqual(
                            Double(dInput[i]), fd, accuracy: 1e-3 * abs(fd) + 2e-4,
                            "\(kind) finite difference at \(x) [\(ISA.active)]")
                    }
                }
            }
        }
    }

    // MARK: PReLU

    func testPReLUUnderEveryISA() { ISA.forEachAvailable { _ in checkPReLU() } }

    func checkPReLU() {
        var random = SeededRandom(seed: 3)
        for (stride, pixels) in [(8, 13), (24, 7), (48, 5)] {
            let count = paddedCount(pixels * stride)
            let input = (0 ..< count).map { _ in random.uniform(-3, 3) }
            let dOutput = (0 ..< count).map { _ in random.uniform(-1, 1) }
            for shared in [false, true] {
                var slopes = (0 ..< paddedCount(stride)).map { _ in random.uniform(-0.5, 0.5) }
                for c in stride ..< slopes.count { slopes[c] = 0 }
                func slope(_ c: Int) -> Double { Double(shared ? slopes[0] : slopes[c]) }
                var output = [Float](repeating: .nan, count: count)
                kernels.preluForward(input, slopes, shared, &output, pixels, stride)
                var dInput = [Float](repeating: .nan, count: count)
                let start = (0 ..< paddedCount(stride)).map { Float($0) * 0.25 }
                var dSlopes = start
                kernels.preluBackward(input, slopes, shared, dOutput, &dInput, &dSlopes, pixels, stride)
                var expectedDSlopes = start.map(Double.init)
                for p in 0 ..< pixels {
                    for c in 0 ..< stride {
                        let i = p * stride + c
                        let x = Double(input[i])
                        let g = Double(dOutput[i])
                        XCTAssertTrue(close(output[i], x > 0 ? x : slope(c) * x, relative: 1e-6), "prelu at \(i)")
                        XCTAssertTrue(close(dInput[i], x > 0 ? g : slope(c) * g, relative: 1e-6), "prelu' at \(i)")
                        if x <= 0 { expectedDSlopes[shared ? 0 : c] += x * g }
                    }
                }
                for c in 0 ..< (shared ? 1 : stride) {
                    XCTAssertEqual(
                        Double(dSlopes[c]), expectedDSlopes[c], accuracy: 1e-5 * Double(pixels * stride),
                        "dSlopes[\(c)] shared \(shared) [\(ISA.active)]")
                }
                if shared {
                    XCTAssertEqual(Array(dSlopes[1...]), Array(start[1...]), "shared: only dSlopes[0] moves")
                }
                // Without dInput only the slopes' gradient is accumulated.
                var again = start
                kernels.preluBackward(input, slopes, shared, dOutput, nil, &again, pixels, stride)
                XCTAssertEqual(again, dSlopes)
                // The slopes' gradient by finite differences of the forward pass (loss = sum output * dOutput).
                let c = shared ? 0 : stride - 1
                func loss(_ s: [Float]) -> Double {
                    var out = [Float](repeating: 0, count: count)
                    kernels.preluForward(input, s, shared, &out, pixels, stride)
                    return (0 ..< pixels * stride).reduce(0) { $0 + Double(out[$1]) * Double(dOutput[$1]) }
                }
                var plus = slopes
                plus[c] += 1e-2
                var minus = slopes
                minus[c] -= 1e-2
                let fd = (loss(plus) - loss(minus)) / 2e-2
                XCTAssertEqual(Double(dSlopes[c] - start[c]), fd, accuracy: 1e-3 * abs(fd) + 1e-4, "dSlope fd")
            }
        }
    }

    // MARK: Vector functions

    /// exp, expm1, tanh, erf, the logistic function and the normal distribution's cdf and
    /// density against Double over a sweep of the float range: relative error below 1e-6
    /// (absolute 1e-44 where the result is subnormal), special values exact.
    func testVectorFunctionsAreAccurateOverTheFloatRange() {
        var xs: [Float] = Self.special + [88.72, 88.73, 88.8, -87.3, -103.9, -104, -105, 0.5, -0.5, 0.75, -0.75]
        var v: Float = 1e-30
        while v < 120 {
            xs += [v, -v]
            v *= 1.002
        }
        v = -12
        while v < 12 {
            xs.append(v)
            v += 0.002
        }
        while xs.count % 8 != 0 { xs.append(0) }
        var worst: [String: (error: Double, at: Float)] = [:]
        func check(_ name: String, _ x: Float, _ y: Float, _ expected: Double) {
            let error: Double
            if expected.isNaN || Double(Float(expected)).isInfinite {
                error = close(y, expected, relative: 0) ? 0 : .infinity
            } else if abs(expected) < Double(Float.leastNormalMagnitude) {
                error = abs(Double(y) - expected) <= 1e-44 ? 0 : .infinity
            } else {
                error = abs(Double(y) - expected) / abs(expected)
            }
            if error > (worst[name]?.error ?? -1) { worst[name] = (error, x) }
        }
        for i in Swift.stride(from: 0, to: xs.count, by: 8) {
            let x = SIMD8<Float>(xs[i ..< i + 8])
            let exp1 = vectorExp(x)
            let expm = vectorExpm1(x)
            let tanh1 = vectorTanh(x)
            let erf1 = vectorErf(x)
            let sigmoid = vectorSigmoid(x)
            let normal = vectorNormal(x)
            for l in 0 ..< 8 {
                let d = Double(x[l])
                check("exp", x[l], exp1[l], exp(d))
                check("expm1", x[l], expm[l], expm1(d))
                check("tanh", x[l], tanh1[l], Foundation.tanh(d))
                check("erf", x[l], erf1[l], erf(d))
                check("sigmoid", x[l], sigmoid.sigma[l], 1 / (1 + exp(-d)))
                check("1 - sigmoid", x[l], sigmoid.complement[l], 1 / (1 + exp(d)))
                check("normal cdf", x[l], normal.cdf[l], 0.5 * erfc(-d / 2.0.squareRoot()))
                check("normal pdf", x[l], normal.pdf[l], exp(-d * d / 2) / (2 * Double.pi).squareRoot())
            }
        }
        for (name, w) in worst.sorted(by: { $0.key < $1.key }) {
            print("vector \(name): max relative error \(w.error) at x = \(w.at)")
            XCTAssertLessThan(w.error, 1e-6, "\(name) at \(w.at)")
        }
        // Signs and special values.
        let s = SIMD8<Float>(0, -0.0, .infinity, -.infinity, .nan, 89, -110, 1e-8)
        let e = vectorExp(s)
        XCTAssertEqual([e[0], e[1], e[2], e[3], e[5], e[6]], [1, 1, .infinity, 0, .infinity, 0])
        XCTAssertTrue(e[4].isNaN)
        let t = vectorTanh(s)
        XCTAssertEqual(t[1].sign, .minus, "tanh(-0) = -0")
        XCTAssertEqual([t[2], t[3]], [1, -1])
        XCTAssertTrue(t[4].isNaN)
        XCTAssertEqual(t[7], 1e-8)
        let f = vectorErf(s)
        XCTAssertEqual([f[2], f[3]], [1, -1])
        XCTAssertTrue(f[4].isNaN)
        XCTAssertEqual(f[1].sign, .minus, "erf(-0) = -0")
    }
}
