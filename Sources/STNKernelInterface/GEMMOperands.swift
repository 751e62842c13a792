/// The operands of the kernels' one compute primitive, the implicit GEMM (`gemmAccumulate`
/// in Sources/STNKernels/GEMM.swift):
///
///     C[i][j] += sum over t of A[rows.offset(i) + t.a] * B[t.b + j]
///
/// where t walks a two-level loop (`Reduction`).

/// How row i of C finds its A elements: offset(i) = (i / perLine) * lineStride + (i % perLine) * step.
/// (Output position (y, x) of a convolution: perLine = output width, lineStride = one input
/// row, step = one input pixel.)
public struct RowMap: Sendable {
    public var perLine: Int
    public var lineStride: Int
    public var step: Int

    @inlinable
    public init(perLine: Int, lineStride: Int, step: Int) {
        self.perLine = max(1, perLine)
        self.lineStride = lineStride
        self.step = step
    }

    /// Rows laid out one after another, `step` apart.
    @inlinable
    public static func linear(step: Int) -> RowMap { RowMap(perLine: Int.max, lineStride: 0, step: step) }

    @inlinable
    public func offset(_ i: Int) -> Int { (i / perLine) * lineStride + (i % perLine) * step }
}

/// The summation index t = (t1, t2), t1 < n1, t2 < n2: A advances by aStride1/aStride2 and
/// B by bStride1/bStride2.
public struct Reduction: Sendable {
    public var n1: Int, n2: Int
    public var aStride1: Int, aStride2: Int
    public var bStride1: Int, bStride2: Int

    @inlinable
    public init(n1: Int, n2: Int, aStride1: Int, aStride2: Int, bStride1: Int, bStride2: Int) {
        self.n1 = n1
        self.n2 = n2
        self.aStride1 = aStride1
        self.aStride2 = aStride2
        self.bStride1 = bStride1
        self.bStride2 = bStride2
    }

    /// A plain dot-product reduction of length k: A contiguous, B rows `ldb` apart.
    @inlinable
    public static func contiguous(_ k: Int, ldb: Int) -> Reduction {
        Reduction(n1: 1, n2: k, aStride1: 0, aStride2: 1, bStride1: 0, bStride2: ldb)
    }
}

/// Where C's accumulators start: C's own values (C += A B), zero (C = A B, C's old values
/// never read), or one row of n values for every row of C (C = row + A B: a bias).
public enum GEMMStart {
    case accumulate
    case zero
    case row(UnsafePointer<Float>)
}
