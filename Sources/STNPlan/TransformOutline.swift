import STNKernelInterface
import STNKernelSelection
import STNModel

/// The lines to draw for a transform: where the output's border (and, for the thin-plate
/// spline, its inner grid lines) sample the input, as polylines in normalised coordinates.
public func transformOutline(_ theta: [Float], kind: TransformKind) -> [[(Float, Float)]] {
    guard theta.count == kind.parameterCount else { return [] }
    let steps = 24
    let lines = kind == .tps ? 5 : 2
    // A grid of (lines x steps) points along rows and another along columns, evaluated by the
    // same generator the model uses (align_corners=True puts the ends on the border).
    func evaluate(height: Int, width: Int) -> [Float] {
        let generator = TransformGrid(kind: kind.kernelKind, height: height, width: width, alignCorners: true)
        var grid = [Float](repeating: 0, count: height * width * 2)
        let kernels = KernelTable.active
        theta.withUnsafeBufferPointer { t in
            grid.withUnsafeMutableBufferPointer {
                kernels.transformGridForward(generator, t.baseAddress!, $0.baseAddress!)
            }
        }
        return grid
    }
    let rows = evaluate(height: lines, width: steps)
    let columns = evaluate(height: steps, width: lines)
    var result: [[(Float, Float)]] = []
    for r in 0 ..< lines {
        result.append((0 ..< steps).map { (rows[(r * steps + $0) * 2], rows[(r * steps + $0) * 2 + 1]) })
    }
    for c in 0 ..< lines {
        result.append((0 ..< steps).map { (columns[($0 * lines + c) * 2], columns[($0 * lines + c) * 2 + 1]) })
    }
    return result
}
