import ArgumentParser
import STNCommandLine
import STNData
import STNEngine
import STNImage
import STNKernels
import STNModel
import STNSystem

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

@main
struct InferCommand: ParsableCommand {
    static func main() { runTool(InferCommand.self, name: "stn-infer", prepare: { try ISA.selectFromEnvironment() }) }

    static let configuration = CommandConfiguration(
        commandName: "stn-infer",
        abstract: "Classify digits with a trained spatial transformer network (or any model of stn-train's format).",
        discussion: """
            Reads images of the model's input size (28x28 digits are centred on a 42x42 canvas for the 42x42 models): idx files of 8-bit images (raw or gzip; N x H x W, or N x H x W x C for models of C channels), PNG (8- or 16-bit grey, grey + alpha, RGB, RGBA or palette, decoded by libpng) and binary PGM (P5, maxval up to 65535), told apart by their first bytes. Samples are scaled to 0-255 (v * 255 / maxval); a 1-channel model gets colour as grey = (19595 R + 38470 G + 7471 B + 32768) >> 16 (Pillow's convert("L")), a 3-channel model gets grey as R = G = B, and alpha is composited over black (white with --invert, so transparent is background either way). --invert serves dark-on-light scans (255 - v). With "-" it reads an idx stream from standard input and answers each image as soon as it has arrived, one flushed line per image, so one process serves a capture loop; a count of 0 in the stream's header means "until the end of the input". It prints one line per image, in the order of the inputs: index, predicted digit, its probability and, for models with a transformer, theta (the transform the localisation net chose). An image whose logits or theta are not finite gets a line saying so instead of an answer. With --labels it ends with the accuracy. Weights default to Weights/st-cnn.h5 in the current directory or in the package the executable was built from; any weight file of stn-train, and a bare h5py dump of a built-in model's state_dict, loads.

            Examples:
              stn-infer Weights/samples/images-idx3-ubyte --labels Weights/samples/labels-idx1-ubyte
              stn-infer my-digit.png another.png --invert
              capture-frames | stn-infer - --format json
              stn-infer Weights/samples/images-idx3-ubyte --limit 10 --warped warped/
              stn-infer test/images-idx3-ubyte --weights Weights/cnn.h5 --format json
              stn-infer Weights/samples/images-idx3-ubyte --explain explain.png
              stn-infer rts-test/images-idx3-ubyte --labels rts-test/labels-idx1-ubyte --explain fig.png --explain-digits 2,5,7 --explain-count 5
              stn-infer rts-test/images-idx3-ubyte --labels rts-test/labels-idx1-ubyte --explain misses.png --explain-misses --explain-count 30
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, csv }

    @Argument(
        help: ArgumentHelp(
            "Images: idx files (raw or gzip), PNG or PGM (P5) of the model's size (or 28x28 for a 42x42 model); - reads an idx stream from standard input.",
            valueName: "images"))
    var images: [String]
    @Option(help: "Weight file (HDF5). Default: Weights/st-cnn.h5.") var weights: String?
    @Option(help: "Labels (idx1) for the images: prints the accuracy at the end.") var labels: String?
    @Option(help: "Output: text, json (JSON Lines) or csv.") var format: Format = .text
    @Option(
        help: "Write the seed's figure for the first images: input, sampled region, transformer output, prediction.")
    var explain: String?
    @Option(
        name: .customLong("explain-count"), parsing: .unconditional,
        help: "Images in the --explain figure (per digit with --explain-digits).")
    var explainCount: Int = 8
    @Option(
        name: .customLong("explain-digits"),
        help: ArgumentHelp(
            "Digits for --explain, e.g. 2,5,7: the first --explain-count images of each, one column per digit (needs --labels).",
            valueName: "D,D,..."))
    var explainDigits: String?
    @Flag(
        name: .customLong("explain-misses"),
        help:
            "Draw only misclassified images in --explain: the first --explain-count of them, ten to a column (needs --labels)."
    )
    var explainMisses = false
    @Option(parsing: .unconditional, help: "Classify only the first N images.") var limit: Int?
    @Flag(help: "Invert the images (255 - v): for dark digits on a light background.") var invert = false
    @Option(
        help: ArgumentHelp(
            "Write each image's transformer output (what the classifier sees) to DIR/NAME-INDEX.png, NAME the input file's name, INDEX the image's place in it; DIR is created if needed.",
            valueName: "DIR"))
    var warped: String?
    @Option(parsing: .unconditional, help: "Threads for large files.") var threads: Int = processorCount()

    func validate() throws {
        if images.contains("-") {
            guard images.count == 1 else { throw ValidationError("- (standard input) cannot be mixed with files") }
            guard labels == nil, explain == nil else {
                throw ValidationError("--labels and --explain need image files, not a stream on standard input")
            }
        }
        try require(threads, in: 1 ... maximumThreads, for: "--threads")
        try require(explainCount, in: 1 ... 100, for: "--explain-count")
        if let explainDigits {
            guard explain != nil else { throw ValidationError("--explain-digits needs --explain OUT.png") }
            guard labels != nil else {
                throw ValidationError("--explain-digits needs --labels LABELS.idx (to find each digit's images)")
            }
            guard let digits = Self.parseDigits(explainDigits) else {
                throw ValidationError("--explain-digits '\(explainDigits)' is not a comma-separated list of digits 0-9")
            }
            guard digits.count <= 10 else { throw ValidationError("--explain-digits lists more than 10 digits") }
        }
        if explainMisses {
            guard explain != nil else { throw ValidationError("--explain-misses needs --explain OUT.png") }
            guard labels != nil else {
                throw ValidationError(
                    "--explain-misses needs --labels LABELS.idx (to know which predictions are wrong)")
            }
            guard explainDigits == nil else {
                throw ValidationError("--explain-misses and --explain-digits choose images differently; pass one")
            }
        }
        try require(limit, in: 1 ... Int.max, for: "--limit")
    }

    func run() throws {
        try infer()
    }

    func infer() throws {
        // Everything is loaded and checked before the first frame runs.
        let weightsPath = try weights ?? DefaultWeights.locate()
        let file = try WeightFileContents(path: weightsPath)
        let shaper = FrameShaper(input: file.architecture.inputShape, invert: invert)
        if images == ["-"] {
            let engine = try Engine(weightFile: file, threads: 1)
            let warped = try warped.map { try WarpedImages(directory: $0, engine: engine, weightsPath: weightsPath) }
            try FrameStream.run(engine: engine, shaper: shaper, format: format, limit: limit, warped: warped)
            return
        }
        if warped != nil { try WarpedImages.checkDistinct(images) }
        if explain != nil && shaper.input.channels != 1 {
            throw EngineError("--explain draws grey images; the model takes \(shaper.input.channels) channels")
        }
        var (frames, sources) = try Frames.load(images, shaper: shaper)
        let allLabels = try labels.map { try IDX.readLabels(at: $0) }
        if !file.extraDatasets.isEmpty {
            writeStandardError(
                "stn-infer: note: \(weightsPath) has datasets that are not model parameters, ignored: \(file.extraDatasets.joined(separator: ", "))\n"
            )
        }
        // One label per image of the file (before --limit), each a class of this model.
        if let labels, let allLabels {
            try IDX.checkLabels(
                allLabels, at: labels, imageCount: frames.count, classes: Self.classCount(file.architecture))
        }
        if let limit, limit < frames.count { frames = frames.prefix(limit) }
        let truth = allLabels.map { Array($0.prefix(frames.count)) }
        let engine = try Engine(weightFile: file, threads: min(threads, max(1, frames.count / 64)))
        let warpedImages = try warped.map { try WarpedImages(directory: $0, engine: engine, weightsPath: weightsPath) }

        var results = [InferenceResult](repeating: InferenceResult(), count: frames.count)
        /// A model of more classes than a result holds: every frame's log-probabilities, read
        /// from the engine after each frame (JSON prints them all).
        var allLogProbs: [[Float]]?
        if format == .json, engine.architecture.classCount > Engine.maximumClasses {
            var all: [[Float]] = []
            for i in 0 ..< frames.count {
                Array(frames.image(i)).withUnsafeBufferPointer {
                    engine.infer(pixels: $0.baseAddress!, into: &results[i])
                }
                all.append(Array(engine.lastLogProbabilities))
            }
            allLogProbs = all
        } else {
            frames.pixels.withUnsafeBufferPointer {
                engine.inferBatch(pixels: $0.baseAddress!, count: frames.count, results: &results, threads: threads)
            }
        }

        var output = ""
        output.reserveCapacity(frames.count * 80)
        if format == .csv {
            output +=
                "index,digit,probability"
                + (results.first?.thetaValues.indices.map { ",theta\($0)" }.joined() ?? "")
                + (truth != nil ? ",label" : "") + "\n"
        }
        var correct = 0
        for (i, r) in results.enumerated() {
            let label = truth.map { Int($0[i]) }
            if r.isFinite && r.digit == label { correct += 1 }
            output += Lines.format(
                index: i, result: r, label: label, format: format,
                transform: engine.architecture.transforms.first?.rawValue, logProbs: allLogProbs?[i])
            if output.utf8.count > 1 << 16 {
                try writeStandardOutput(output)
                output.removeAll(keepingCapacity: true)
            }
        }
        if let truth {
            let accuracy = Double(correct) / Double(max(1, truth.count))
            switch format {
            case .json:
                output += formatted("{\"accuracy\":%.6f,\"correct\":%d,\"count\":%d}\n", accuracy, correct, truth.count)
            case .csv, .text:
                output += formatted(
                    "accuracy: %.2f%% (%d/%d), error %.2f%%\n", accuracy * 100, correct, truth.count,
                    (1 - accuracy) * 100)
            }
        }
        try writeStandardOutput(output)

        if let warpedImages {
            // Re-run each frame to read its transformer output (the batch kept only results).
            var result = InferenceResult()
            for source in sources {
                let stem = WarpedImages.stem(source.path)
                // --limit may have cut this source short, or dropped it.
                for i in 0 ..< max(0, min(source.count, frames.count - source.first)) {
                    Array(frames.image(source.first + i)).withUnsafeBufferPointer {
                        engine.infer(pixels: $0.baseAddress!, into: &result)
                    }
                    try warpedImages.write(engine, stem: stem, index: i)
                }
            }
            writeStandardError("stn-infer: wrote \(frames.count) transformer outputs to \(warpedImages.directory)\n")
        }

        if let explain {
            var groups = [Array(0 ..< min(explainCount, frames.count))]
            var titles: [String]?
            if let explainDigits, let digits = Self.parseDigits(explainDigits), let truth {
                groups = digits.map { d in Array(truth.indices.filter { Int(truth[$0]) == d }.prefix(explainCount)) }
                titles = digits.map { "digit \($0)" }
            }
            if explainMisses, let truth {
                let misses = Array(truth.indices.filter { Int(truth[$0]) != results[$0].digit }.prefix(explainCount))
                groups = stride(from: 0, to: misses.count, by: 10).map {
                    Array(misses[$0 ..< min($0 + 10, misses.count)])
                }
                titles = groups.indices.map { "misses \($0 * 10 + 1)-\($0 * 10 + groups[$0].count)" }
                if misses.isEmpty { (groups, titles) = ([[]], ["no misclassified images"]) }
            }
            try Explain.figure(
                engine: engine, frames: frames, results: results, labels: truth, groups: groups, groupTitles: titles
            ).writePNG(to: explain)
            writeStandardError("stn-infer: wrote \(explain)\n")
        }
    }
}

extension InferCommand {
    /// The classes a model tells apart: the width of its answer.
    static func classCount(_ architecture: Architecture) -> Int { architecture.classCount }

    /// "2,5,7" -> [2, 5, 7]; nil unless every item is a digit 0-9.
    static func parseDigits(_ list: String) -> [Int]? {
        let items = list.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingPrefix(" ")) }
        guard !items.isEmpty, items.allSatisfy({ $0 != nil && (0 ... 9).contains($0!) }) else { return nil }
        return items.map { $0! }
    }
}

/// Finds Weights/st-cnn.h5 in the current directory, or in the package the executable
/// was built from (walking up from the executable to a directory with Package.swift).
enum DefaultWeights {
    static let relativePath = "Weights/st-cnn.h5"

    static func locate() throws -> String {
        if fileExists(relativePath) { return relativePath }
        var directory = directoryName(executablePath() ?? CommandLine.arguments[0])
        for _ in 0 ..< 8 {
            if fileExists(directory + "/Package.swift") {
                let candidate = directory + "/" + relativePath
                if fileExists(candidate) { return candidate }
            }
            if directory == "/" { break }
            directory = directoryName(directory)
        }
        throw EngineError(
            "\(relativePath): no weights found here or beside the package; pass --weights FILE or train some with 'stn-train --model st-cnn --out \(relativePath)'"
        )
    }
}

/// One output line per image.
enum Lines {
    static func number(_ v: Float) -> String { formatted("%.6g", v) }

    static func format(
        index: Int, result r: InferenceResult, label: Int?, format: InferCommand.Format, transform: String? = nil,
        logProbs: [Float]? = nil
    ) -> String {
        if !r.isFinite {
            // The localisation net or the classifier overflowed: there is no answer to print.
            switch format {
            case .text: return formatted("%5d  non-finite output (a logit or theta is NaN or infinite)\n", index)
            case .csv: return "\(index),non-finite\n"
            case .json: return "{\"index\":\(index),\"error\":\"non-finite output\"}\n"
            }
        }
        switch format {
        case .text:
            var line = formatted("%5d  digit %d  p %.4f", index, r.digit, r.probability)
            if let label { line += r.digit == label ? "  ok" : "  WRONG (label \(label))" }
            let t = r.thetaValues
            if t.count == 6 && t.allSatisfy({ abs($0) < 1e4 }) {
                line += formatted("  theta [%.3f %.3f %.3f; %.3f %.3f %.3f]", t[0], t[1], t[2], t[3], t[4], t[5])
            } else if t.count == 6 {
                line += formatted("  theta [%.4g %.4g %.4g; %.4g %.4g %.4g]", t[0], t[1], t[2], t[3], t[4], t[5])
            } else if !t.isEmpty {
                line += "  theta [" + t.map { formatted("%.3f", $0) }.joined(separator: " ") + "]"
            }
            return line + "\n"
        case .csv:
            var fields = [String(index), String(r.digit), number(r.probability)]
            fields += r.thetaValues.map(number)
            if let label { fields.append(String(label)) }
            return fields.joined(separator: ",") + "\n"
        case .json:
            var json =
                "{\"index\":\(index),\"digit\":\(r.digit),\"probability\":\(number(r.probability)),\"log_probs\":[\((logProbs ?? r.logProbabilities).map(number).joined(separator: ","))]"
            if r.hasTheta, let transform {
                json +=
                    ",\"transform\":\"\(transform)\",\"theta\":[\(r.thetaValues.map(number).joined(separator: ","))]"
            }
            if let label { json += ",\"label\":\(label)" }
            return json + "}\n"
        }
    }
}
