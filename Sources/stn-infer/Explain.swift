import STNCommandLine
import STNData
import STNEngine
import STNImage

/// The seed's figure: for each image, the input, the input with the quadrilateral the
/// transformer samples from, the transformer's output, and the prediction.
enum Explain {
    static let scale = 3
    static let cell = 42 * scale

    static func figure(engine: Engine, frames: IDXImages, results: [InferenceResult], labels: [UInt8]?, count: Int) -> Canvas {
        let st = engine.architecture.hasTransformer
        let columns = st ? 3 : 1
        let gap = 10, header = 24, textWidth = 150
        let width = gap + columns * (cell + gap) + textWidth
        let height = header + count * (cell + gap) + gap
        var canvas = Canvas(width: width, height: height, background: .white)
        let titles = st ? ["input", "sampled region", "transformer output"] : ["input"]
        for (c, title) in titles.enumerated() { canvas.text(title, x: gap + c * (cell + gap), y: 8, color: .black) }
        canvas.text("prediction", x: gap + columns * (cell + gap), y: 8, color: .black)

        var result = InferenceResult()
        for row in 0 ..< count {
            let y = header + row * (cell + gap)
            let pixels = Array(frames.image(row))
            canvas.drawGray(pixels, width: 42, height: 42, atX: gap, y: y, scale: scale)
            if st {
                let x = gap + cell + gap
                canvas.drawGray(pixels, width: 42, height: 42, atX: x, y: y, scale: scale)
                // theta maps the output's corners (+-1, +-1) into the input, in normalised
                // coordinates where the image spans [-1, 1] edge to edge.
                let t = results[row].thetaValues
                let corners: [(Double, Double)] = [(-1, -1), (1, -1), (1, 1), (-1, 1)].map { (u, v) in
                    let xi = Double(t[0]) * u + Double(t[1]) * v + Double(t[2])
                    let yi = Double(t[3]) * u + Double(t[4]) * v + Double(t[5])
                    return (Double(x) + (xi + 1) / 2 * Double(cell), Double(y) + (yi + 1) / 2 * Double(cell))
                }
                canvas.polygon(corners, color: .red, thickness: 2)
                // Re-run the frame to read the sampled image (the batch kept only results).
                pixels.withUnsafeBufferPointer { engine.infer(pixels: $0.baseAddress!, into: &result) }
                canvas.drawGray(floats: Array(engine.lastSampled), width: 42, height: 42, atX: gap + 2 * (cell + gap), y: y, scale: scale)
            }
            let r = results[row]
            let tx = gap + columns * (cell + gap)
            canvas.text("\(r.digit)", x: tx, y: y + cell / 2 - 20, color: .black, scale: 5)
            canvas.text(formatted("p %.3f", r.probability), x: tx + 40, y: y + cell / 2 - 14, color: .gray)
            if let labels {
                let ok = Int(labels[row]) == r.digit
                canvas.text(ok ? "correct" : "label \(labels[row])", x: tx + 40, y: y + cell / 2, color: ok ? .green : .red)
            }
        }
        return canvas
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials  // not all of Foundation: keeps ICU out of stn-infer's start-up
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
