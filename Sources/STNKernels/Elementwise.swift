import STNKernelInterface

/// Elementwise kernels over NHWC lanes: a per-channel scale and shift (a batch norm at
/// inference that no convolution absorbs) and the sum of two tensors (a residual
/// connection), 8 lanes at a time.
enum ChannelAffine {
    /// output = input * scale[c] + shift[c] for each of `pixels` pixels of `stride` lanes;
    /// scale and shift hold `stride` floats (zero in padding lanes, which therefore stay zero).
    static func forward(
        input: UnsafePointer<Float>, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>, pixels: Int, stride: Int
    ) {
        if stride % 8 == 0 {
            for p in 0 ..< pixels {
                let at = p * stride
                var c = 0
                while c < stride {
                    let x = SIMD8<Float>(UnsafeBufferPointer(start: input + at + c, count: 8))
                    let s = SIMD8<Float>(UnsafeBufferPointer(start: scale + c, count: 8))
                    let t = SIMD8<Float>(UnsafeBufferPointer(start: shift + c, count: 8))
                    store(x * s + t, output + at + c)
                    c += 8
                }
            }
        } else {
            for p in 0 ..< pixels {
                for c in 0 ..< stride { output[p * stride + c] = input[p * stride + c] * scale[c] + shift[c] }
            }
        }
    }
}

enum ElementwiseSum {
    /// output = a + b over `count` floats (rounded up to 8: buffers hold whole vectors).
    static func add(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int
    ) {
        var i = 0
        while i < count {
            let x = SIMD8<Float>(UnsafeBufferPointer(start: a + i, count: 8))
            let y = SIMD8<Float>(UnsafeBufferPointer(start: b + i, count: 8))
            store(x + y, output + i)
            i += 8
        }
    }
}

@inline(__always)
private func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}
