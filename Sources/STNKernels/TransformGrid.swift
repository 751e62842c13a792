import STNKernelInterface

/// The grid generators (`TransformGrid`), forward and backward: the affine one is
/// `Transformer.affineGrid`; the others loop over the coordinates computed at plan time.
extension TransformGrid {
    // MARK: Forward

    func forward(theta t: UnsafePointer<Float>, grid: UnsafeMutablePointer<Float>) {
        switch kind {
        case .affine:
            Transformer.affineGrid(theta: t, height: height, width: width, alignCorners: alignCorners, into: grid)
        case .attention:
            for y in 0 ..< height {
                for x in 0 ..< width {
                    grid[(y * width + x) * 2] = t[0] * xs[x] + t[1]
                    grid[(y * width + x) * 2 + 1] = t[0] * ys[y] + t[2]
                }
            }
        case .projective:
            for y in 0 ..< height {
                for x in 0 ..< width {
                    let u = t[0] * xs[x] + t[1] * ys[y] + t[2]
                    let v = t[3] * xs[x] + t[4] * ys[y] + t[5]
                    let w = guarded(t[6] * xs[x] + t[7] * ys[y] + 1).value
                    grid[(y * width + x) * 2] = u / w
                    grid[(y * width + x) * 2 + 1] = v / w
                }
            }
        case .thinPlateSpline:
            let points = TransformGrid.splineSide * TransformGrid.splineSide
            splineMatrix.withUnsafeBufferPointer { m in
                for p in 0 ..< height * width {
                    var gx: Float = 0
                    var gy: Float = 0
                    for k in 0 ..< points {
                        gx += m[p * points + k] * t[2 * k]
                        gy += m[p * points + k] * t[2 * k + 1]
                    }
                    grid[2 * p] = gx
                    grid[2 * p + 1] = gy
                }
            }
        }
    }

    /// w kept at least `projectiveMinimumW` from zero (0 becomes +minimum), and whether it was
    /// moved (then no gradient flows through it).
    @inline(__always)
    func guarded(_ w: Float) -> (value: Float, clamped: Bool) {
        if abs(w) < TransformGrid.projectiveMinimumW {
            return (w < 0 ? -TransformGrid.projectiveMinimumW : TransformGrid.projectiveMinimumW, true)
        }
        return (w, false)
    }

    // MARK: Backward

    /// dTheta (`parameterCount` values, overwritten) from dGrid, summed in Double.
    func backward(
        theta t: UnsafePointer<Float>, dGrid: UnsafePointer<Float>, dTheta: UnsafeMutablePointer<Float>
    ) {
        switch kind {
        case .affine:
            Transformer.affineGridBackward(
                dGrid: dGrid, height: height, width: width, alignCorners: alignCorners, dTheta: dTheta)
        case .attention:
            var ds = 0.0
            var dx = 0.0
            var dy = 0.0
            for y in 0 ..< height {
                for x in 0 ..< width {
                    let gx = Double(dGrid[(y * width + x) * 2])
                    let gy = Double(dGrid[(y * width + x) * 2 + 1])
                    ds += gx * Double(xs[x]) + gy * Double(ys[y])
                    dx += gx
                    dy += gy
                }
            }
            dTheta[0] = Float(ds)
            dTheta[1] = Float(dx)
            dTheta[2] = Float(dy)
        case .projective:
            var d = [Double](repeating: 0, count: 8)
            for y in 0 ..< height {
                for x in 0 ..< width {
                    let xn = Double(xs[x])
                    let yn = Double(ys[y])
                    let u = Double(t[0] * xs[x] + t[1] * ys[y] + t[2])
                    let v = Double(t[3] * xs[x] + t[4] * ys[y] + t[5])
                    let (wf, clamped) = guarded(t[6] * xs[x] + t[7] * ys[y] + 1)
                    let w = Double(wf)
                    let gx = Double(dGrid[(y * width + x) * 2])
                    let gy = Double(dGrid[(y * width + x) * 2 + 1])
                    let du = gx / w
                    let dv = gy / w
                    let dw = clamped ? 0 : -(gx * u + gy * v) / (w * w)
                    d[0] += du * xn
                    d[1] += du * yn
                    d[2] += du
                    d[3] += dv * xn
                    d[4] += dv * yn
                    d[5] += dv
                    d[6] += dw * xn
                    d[7] += dw * yn
                }
            }
            for i in 0 ..< 8 { dTheta[i] = Float(d[i]) }
        case .thinPlateSpline:
            let points = TransformGrid.splineSide * TransformGrid.splineSide
            splineMatrix.withUnsafeBufferPointer { m in
                for k in 0 ..< points {
                    var dx = 0.0
                    var dy = 0.0
                    for p in 0 ..< height * width {
                        dx += Double(m[p * points + k]) * Double(dGrid[2 * p])
                        dy += Double(m[p * points + k]) * Double(dGrid[2 * p + 1])
                    }
                    dTheta[2 * k] = Float(dx)
                    dTheta[2 * k + 1] = Float(dy)
                }
            }
        }
    }
}
