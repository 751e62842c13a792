import STNCommandLine
import STNData
import STNEngine
import STNImage
import STNModel
import STNPlan

/// The seed's figure: for each image, the input, the input with the quadrilateral the
/// transformer samples from, the transformer's output, and the prediction.
enum Explain {
    static let scale = 3

    /// Draws `groups` of image indices side by side (one group per column block, e.g. one
    /// per digit), each image a row of: input, sampled region, transformer output, prediction.
    static func figure(
        engine: Engine, frames: [Float], side: Int, results: [InferenceResult], labels: [UInt8]?,
        groups: [[Int]], groupTitles: [String]? = nil
    ) -> Canvas {
        let st = engine.architecture.hasTransformer && engine.sampledShape?.channels == 1
        let transform = engine.architecture.transforms.first ?? .affine
        // Small frames are drawn larger, so a 28x28 digit's cell is as big as a 42x42 frame's.
        let scale = max(Explain.scale, 126 / max(side, 1))
        let cell = side * scale
        let sampled = engine.sampledShape ?? TensorShape(channels: 1, height: side, width: side)
        let columns = st ? 3 : 1
        let gap = 10
        let textWidth = 150
        let header = groupTitles == nil ? 24 : 44
        let blockWidth = columns * (cell + gap) + textWidth
        let rows = groups.map(\.count).max() ?? 0
        var canvas = Canvas(
            width: gap + groups.count * blockWidth, height: header + rows * (cell + gap) + gap, background: .white)
        let titles = st ? ["input", "sampled region", "transformer output"] : ["input"]

        var result = InferenceResult()
        for (g, group) in groups.enumerated() {
            let left = gap + g * blockWidth
            if let groupTitles { canvas.text(groupTitles[g], x: left, y: 6, color: .black, scale: 2) }
            for (c, title) in titles.enumerated() {
                canvas.text(title, x: left + c * (cell + gap), y: header - 16, color: .black)
            }
            canvas.text("prediction", x: left + columns * (cell + gap), y: header - 16, color: .black)
            for (row, index) in group.enumerated() {
                let y = header + row * (cell + gap)
                let frame = Array(frames[index * side * side ..< (index + 1) * side * side])
                canvas.drawGray(floats: frame, width: side, height: side, atX: left, y: y, scale: scale)
                if st {
                    let x = left + cell + gap
                    canvas.drawGray(floats: frame, width: side, height: side, atX: x, y: y, scale: scale)
                    // theta maps the output's grid into the input, in normalised coordinates
                    // where the image spans [-1, 1] edge to edge: the sampled quadrilateral for
                    // attention, affine and projective transforms, a warped grid for the spline.
                    let toCanvas = { (p: (Float, Float)) -> (Double, Double) in
                        (
                            Double(x) + (Double(p.0) + 1) / 2 * Double(cell),
                            Double(y) + (Double(p.1) + 1) / 2 * Double(cell)
                        )
                    }
                    for line in transformOutline(results[index].thetaValues, kind: transform) {
                        let points = line.map(toCanvas)
                        if points.allSatisfy({ $0.0.isFinite && $0.1.isFinite }) {
                            for (a, b) in zip(points, points.dropFirst()) {
                                canvas.line(from: a, to: b, color: .red, thickness: 2)
                            }
                        }
                    }
                    // Re-run the frame to read the sampled image (the batch kept only results).
                    frame.withUnsafeBufferPointer { engine.infer(frame: $0.baseAddress!, into: &result) }
                    canvas.drawGray(
                        floats: Array(engine.lastSampled), width: sampled.width, height: sampled.height,
                        atX: left + 2 * (cell + gap), y: y, scale: cell / max(sampled.width, 1))
                }
                let r = results[index]
                let tx = left + columns * (cell + gap)
                canvas.text("\(r.digit)", x: tx, y: y + cell / 2 - 20, color: .black, scale: 5)
                canvas.text(formatted("p %.3f", r.probability), x: tx + 40, y: y + cell / 2 - 14, color: .gray)
                if let labels {
                    let ok = Int(labels[index]) == r.digit
                    canvas.text(
                        ok ? "correct" : "label \(labels[index])", x: tx + 40, y: y + cell / 2,
                        color: ok ? .green : .red)
                }
            }
        }
        return canvas
    }
}

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif
