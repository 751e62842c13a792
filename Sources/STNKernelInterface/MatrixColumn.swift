/// One column of a matrix product by a fixed matrix stored transposed: column[r] = sum_k
/// AT[k][r] * x[k * xStride], 8 rows at a time (rows is a multiple of 8): `MatrixProductStep`'s.
/// Compiled once, not per ISA, so it gives the same bits under every ISA.
public enum MatrixColumn {
    public static func accumulate(
        _ transposed: UnsafePointer<Float>, rows: Int, inner: Int, x: UnsafePointer<Float>, xStride: Int,
        into column: UnsafeMutablePointer<Float>
    ) {
        var r = 0
        while r < rows {
            var sum = SIMD8<Float>()
            for k in 0 ..< inner {
                let a = SIMD8<Float>(UnsafeBufferPointer(start: transposed + k * rows + r, count: 8))
                sum = sum + a * SIMD8<Float>(repeating: x[k * xStride])
            }
            store(sum, column + r)
            r += 8
        }
    }
}

@inline(__always)
private func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}
