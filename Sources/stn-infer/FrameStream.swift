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
        if let problem = shaper.problem(stream.layout) { throw ImageReadError(name, problem) }
        let transform = engine.architecture.transforms.first?.rawValue
        var result = InferenceResult()
        var frame = [Float](repeating: 0, count: shaper.frameCount)
        let scratch = ImageScratch()
        var index = 0
        while limit.map({ index < $0 }) ?? true,
            try frame.withUnsafeMutableBufferPointer({
                try shaper.next(from: stream, into: $0.baseAddress!, scratch: scratch)
            })
        {
            frame.withUnsafeBufferPointer { engine.infer(frame: $0.baseAddress!, into: &result) }
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
