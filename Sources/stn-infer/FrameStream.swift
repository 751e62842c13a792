import STNCommandLine
import STNData
import STNEngine
import STNImage

/// `stn-infer -`: an idx stream on standard input, answered image by image. Each answer is
/// printed and flushed as soon as its image has arrived, so one long-lived process serves a
/// capture loop that writes a frame, reads its answer, and writes the next.
enum FrameStream {
    static let name = "standard input"

    static func run(
        engine: Engine, shaper: FrameShaper, format: InferCommand.Format, limit: Int?, warped: WarpedImages?,
        classNames: [String]? = nil
    ) throws {
        let stream = try IDXStream(descriptor: 0, name: name)
        // The shape is known from the header: refuse a stream that does not fit at once.
        guard shaper.accepts(rows: stream.rows, columns: stream.columns) else {
            throw IDXError(
                name, .wrongImageSize(rows: stream.rows, columns: stream.columns, expected: shaper.acceptedSizes()))
        }
        guard shaper.accepts(channels: stream.channels, alpha: false) else {
            throw ImageReadError(
                name, "images have \(stream.channels) channels, the model takes \(shaper.input.channels)")
        }
        let transform = engine.architecture.transforms.first?.rawValue
        var result = InferenceResult()
        var index = 0
        while limit.map({ index < $0 }) ?? true, let pixels = try stream.next() {
            let frame = shaper.frame(
                pixels, rows: stream.rows, columns: stream.columns, channels: stream.channels, alpha: false)
            frame.withUnsafeBufferPointer { engine.infer(pixels: $0.baseAddress!, into: &result) }
            try warped?.write(engine, stem: WarpedImages.stem("-"), index: index)
            if format == .csv && index == 0 {
                // The header names theta's columns, known once a frame has run.
                try writeStandardOutput(
                    Lines.csvHeader(thetaCount: result.thetaValues.count, labels: false, classNames: classNames))
            }
            try writeStandardOutput(
                Lines.format(
                    index: index, result: result, label: nil, format: format, transform: transform,
                    classNames: classNames))
            try flushStandardOutput()
            index += 1
        }
    }
}
