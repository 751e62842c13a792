import ArgumentParser
import STNCommandLine
import STNData
import STNEngine
import STNImage
import STNKernelSelection
import STNModel
import STNPlan
import STNSystem

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

@main
struct InferCommand: ParsableCommand {
    static func main() {
        if let request = InferRequest(commonArguments: CommandLine.arguments.dropFirst()) {
            runScanned(InferCommand.self, name: "stn-infer") {
                try ISA.selectFromEnvironment()
                try request.run()
            }
        }
        runTool(InferCommand.self, name: "stn-infer", prepare: { try ISA.selectFromEnvironment() })
    }

    static let configuration = CommandConfiguration(
        commandName: "stn-infer",
        abstract: "Classify digits with a trained spatial transformer network (or any model of stn-train's format).",
        discussion: """
            Reads idx files of 8-bit or float32 images (raw or gzip; N x H x W, or N x H x W x C for models of C channels; type 08 or 0d), PNG (8- or 16-bit grey, grey + alpha, RGB, RGBA or palette, decoded by libpng) and binary PGM (P5, maxval up to 65535), told apart by their first bytes. Images become the model's frames by stn-train's rule (docs/training.md), the same code: samples are scaled to 0-255 (v * 255 / maxval), then by 1/255, as are 8-bit idx samples; float32 idx values are the model's input as they are (what 8-bit v becomes, v x (1/255) in float32, gives the 8-bit file's answers exactly; a NaN or infinity is refused naming the image; --invert makes them 1 - v); an image of the model's size runs as it is (and a 28x28 digit is centred on a 42x42 model's canvas); another size is refused unless --fit pad or --fit resize; grey for an RGB model and RGB for a grey one are refused unless --color rgb (R = G = B) or --color grey (grey = (19595 R + 38470 G + 7471 B + 32768) >> 16, Pillow's convert("L")); alpha is composited over black (white with --invert, so transparent is background either way). --invert serves dark-on-light scans (255 - v). With "-" it reads an idx stream from standard input and answers each image as soon as it has arrived, one flushed line per image, so one process serves a capture loop; a count of 0 in the stream's header means "until the end of the input". It prints one line per image, in the order of the inputs: index, predicted digit (or "class NAME" when the weight file names its classes, as stn-train --train writes them), its probability and, for models with a transformer, theta (the transform the localisation net chose). An image whose logits or theta are not finite gets a line saying so instead of an answer. With --labels it ends with the accuracy. Weights default to Weights/st-cnn.h5 in the current directory or in the package the executable was built from; any weight file of stn-train, and a bare h5py dump of a built-in model's state_dict, loads.

            Examples:
              stn-infer Weights/samples/images-idx3-ubyte --labels Weights/samples/labels-idx1-ubyte
              stn-infer my-digit.png another.png --invert
              stn-infer photo.png --weights signs.h5 --fit resize --color rgb
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
            "Images: idx files (8-bit or float32, raw or gzip), PNG or PGM (P5) of the model's size (or 28x28 for a 42x42 model; other sizes with --fit); - reads an idx stream from standard input.",
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
    @Option(
        help: ArgumentHelp(
            "With --labels: also print the accuracy of each class and draw the confusion matrix (true class by answer, with counts) into this PNG. Images without a finite answer are left out of it.",
            valueName: "FILE.png"))
    var confusion: String?
    @Option(parsing: .unconditional, help: "Classify only the first N images.") var limit: Int?
    @Flag(help: "Invert the images (255 - v): for dark digits on a light background.") var invert = false
    @Option(
        help: ArgumentHelp(
            "Images of another size than the model's: refuse (the default: one line naming the image and both sizes; a 28x28 digit is still centred on a 42x42 model's canvas), pad (centred on a black canvas; a larger image is refused) or resize (bilinear to the model's size). stn-train's --fit, the same rule and code.",
            valueName: "refuse|pad|resize"))
    var fit: String?
    @Option(
        help: ArgumentHelp(
            "Convert images whose channels differ from the model's: grey (RGB to grey by luminance, for a 1-channel model) or rgb (grey repeated in R, G and B, for a 3-channel model). Without it, such an image is refused. stn-train's --color.",
            valueName: "grey|rgb"))
    var color: String?
    @Option(
        help: ArgumentHelp(
            "Write each image's transformer output (what the classifier sees) to DIR/NAME-INDEX.png, NAME the input file's name, INDEX the image's place in it; DIR is created if needed.",
            valueName: "DIR"))
    var warped: String?

    @Option(
        name: .customLong("images-out"),
        help: ArgumentHelp(
            "For a model that answers with an image (a rectifier without a classifier): write each answer to DIR/NAME-INDEX.png instead of printing class scores.",
            valueName: "DIR"))
    var imagesOut: String?
    @Option(parsing: .unconditional, help: "Threads for large files.") var threads: Int = processorCount()
    @Option(
        name: .customLong("max-memory"),
        help: ArgumentHelp(
            "Refuse a model that needs more memory than this (e.g. 2G, 512M); default: the memory available.",
            valueName: "SIZE"))
    var maxMemory: String?

    /// The options as plain values.
    var request: InferRequest {
        InferRequest(
            images: images, weights: weights, labels: labels, format: format, explain: explain,
            explainCount: explainCount, explainDigits: explainDigits, explainMisses: explainMisses, limit: limit,
            invert: invert, warped: warped, imagesOut: imagesOut, threads: threads, maxMemory: maxMemory,
            confusion: confusion, fit: fit, color: color)
    }

    func validate() throws { try request.validate() }

    func run() throws { try request.run() }
}

/// What one stn-infer run is asked to do: InferCommand's options as plain values, so that
/// the common command lines (`CommonArguments`) run without swift-argument-parser's parse.
struct InferRequest {
    var images: [String]
    var weights: String?
    var labels: String?
    var format: InferCommand.Format = .text
    var explain: String?
    var explainCount = 8
    var explainDigits: String?
    var explainMisses = false
    var limit: Int?
    var invert = false
    var warped: String?
    var imagesOut: String?
    var threads = processorCount()
    var maxMemory: String?
    var confusion: String?
    /// --fit and --color as given (checked by `validate`).
    var fit: String?
    var color: String?

    /// The options `CommonArguments` scans: images, and those used from scripts and capture
    /// loops. Every other command line goes through the full parser.
    static let commonOptions: [CommonArguments.Option] = [
        .value("weights"), .value("labels"), .value("format"), .value("limit"), .value("threads"), .flag("invert"),
    ]

    /// The request for a common command line that passes validation, else nil (the full
    /// parser then parses it and reports any error).
    init?(commonArguments arguments: some Collection<String>) {
        guard let scanned = CommonArguments(arguments, options: Self.commonOptions), !scanned.positionals.isEmpty
        else { return nil }
        images = scanned.positionals
        weights = scanned.value("weights")
        labels = scanned.value("labels")
        invert = scanned.value("invert") != nil
        if let name = scanned.value("format") {
            guard let format = InferCommand.Format(rawValue: name) else { return nil }
            self.format = format
        }
        if let text = scanned.value("limit") {
            guard let limit = Int(text) else { return nil }
            self.limit = limit
        }
        if let text = scanned.value("threads") {
            guard let threads = Int(text) else { return nil }
            self.threads = threads
        }
        guard (try? validate()) != nil else { return nil }
    }

    init(
        images: [String], weights: String?, labels: String?, format: InferCommand.Format, explain: String?,
        explainCount: Int, explainDigits: String?, explainMisses: Bool, limit: Int?, invert: Bool, warped: String?,
        imagesOut: String?, threads: Int, maxMemory: String?, confusion: String?, fit: String?,
        color: String?
    ) {
        self.images = images
        self.weights = weights
        self.labels = labels
        self.format = format
        self.explain = explain
        self.explainCount = explainCount
        self.explainDigits = explainDigits
        self.explainMisses = explainMisses
        self.limit = limit
        self.invert = invert
        self.warped = warped
        self.imagesOut = imagesOut
        self.threads = threads
        self.maxMemory = maxMemory
        self.confusion = confusion
        self.fit = fit
        self.color = color
    }

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
        if let fit, FrameFitting.Fit(rawValue: fit) == nil {
            throw ValidationError("--fit must be refuse, pad or resize, not '\(fit)'")
        }
        if let color, FrameFitting.Color(rawValue: color) == nil {
            throw ValidationError("--color must be grey or rgb, not '\(color)'")
        }
        if confusion != nil, labels == nil {
            throw ValidationError("--confusion needs --labels LABELS.idx (to know each image's true class)")
        }
    }

    func run() throws {
        try MemoryBudget.setMaximum(option: maxMemory)
        try infer()
    }

    func infer() throws {
        // Everything is loaded and checked before the first frame runs.
        let weightsPath = try weights ?? DefaultWeights.locate()
        let file = try WeightFileContents(path: weightsPath)
        let shaper = FrameShaper(
            input: file.architecture.inputShape, fit: fit.flatMap(FrameFitting.Fit.init(rawValue:)) ?? .refuse,
            color: color.flatMap(FrameFitting.Color.init(rawValue:)), invert: invert)
        if let problem = shaper.fitting.colorProblem { throw EngineError(problem) }
        let classNames = try Self.classNames(file, path: weightsPath)
        if images == ["-"] {
            let engine = try Engine(weightFile: file, threads: 1)
            let warped = try warped.map { try WarpedImages(directory: $0, engine: engine, weightsPath: weightsPath) }
            try FrameStream.run(
                engine: engine, shaper: shaper, format: format, limit: limit, warped: warped, classNames: classNames)
            return
        }
        if warped != nil { try WarpedImages.checkDistinct(images) }
        if explain != nil && shaper.fitting.channels != 1 {
            throw EngineError("--explain draws grey images; the model takes \(shaper.fitting.channels) channels")
        }
        let sources = try Frames.open(images, shaper: shaper)
        let imageCount = sources.reduce(0) { $0 + $1.count }
        let allLabels = try labels.map { try IDX.readLabels(at: $0) }
        if !file.extraDatasets.isEmpty {
            writeStandardError(
                "stn-infer: note: \(weightsPath) has datasets that are not model parameters, ignored: \(file.extraDatasets.joined(separator: ", "))\n"
            )
        }
        // One label per image of the file (before --limit), each a class of this model.
        if let labels, let allLabels {
            try IDX.checkLabels(
                allLabels, at: labels, imageCount: imageCount, classes: Self.classCount(file.architecture))
        }
        // Only the images that run are read: --limit bounds the work, whatever the headers say.
        let count = min(limit ?? imageCount, imageCount)
        let truth = allLabels.map { Array($0.prefix(count)) }
        let engine = try Engine(weightFile: file, threads: min(threads, max(1, count / 64)))
        let warpedImages = try warped.map { try WarpedImages(directory: $0, engine: engine, weightsPath: weightsPath) }
        let transform = engine.architecture.transforms.first?.rawValue
        if engine.answersWithImage {
            try inferImages(engine, sources: sources, count: count)
            return
        }
        if imagesOut != nil {
            throw ValidationError("--images-out: the model answers with class scores, not images")
        }

        // The images run a batch at a time, each batch's answers written before the next is
        // read: the first answers come while a large (or gzip) file is still being read, and
        // memory holds one batch. --explain keeps every frame and result for its figure.
        let frameSize = shaper.frameCount
        let batchSize = max(1, min(count, 1024))
        var batch = [Float](repeating: 0, count: batchSize * frameSize)
        var results = [InferenceResult](repeating: InferenceResult(), count: batchSize)
        var kept = (frames: [Float](), results: [InferenceResult]())
        var correct = 0
        var answers: [(predicted: Int, actual: Int)] = []  // --confusion
        var sourceIndex = 0
        var indexInSource = 0
        var place: [(source: Int, index: Int)] = []
        var done = 0
        var output = ""
        while done < count {
            // A file that fails part-way (a gzip payload cut short) fails after the answers
            // of the images before the fault.
            let wanted = min(batchSize, count - done)
            var n = 0
            var failure: Error?
            place.removeAll(keepingCapacity: true)
            do {
                while n < wanted {
                    while indexInSource == sources[sourceIndex].count {
                        sourceIndex += 1
                        indexInSource = 0
                    }
                    try batch.withUnsafeMutableBufferPointer {
                        try sources[sourceIndex].next(into: $0.baseAddress! + n * frameSize)
                    }
                    place.append((sourceIndex, indexInSource))
                    indexInSource += 1
                    n += 1
                    if indexInSource == sources[sourceIndex].count { try sources[sourceIndex].finish() }
                }
            } catch {
                if n == 0 { throw error }
                failure = error
            }
            /// A model of more classes than a result holds: each frame's log-probabilities,
            /// read from the engine after it (JSON prints them all).
            var allLogProbs: [[Float]] = []
            if format == .json, engine.architecture.classCount > Engine.maximumClasses {
                for i in 0 ..< n {
                    batch.withUnsafeBufferPointer {
                        engine.infer(frame: $0.baseAddress! + i * frameSize, into: &results[i])
                    }
                    allLogProbs.append(Array(engine.lastLogProbabilities))
                }
            } else {
                batch.withUnsafeBufferPointer { frames in
                    results.withUnsafeMutableBufferPointer {
                        engine.inferBatch(
                            frames: frames.baseAddress!, count: n, results: $0.baseAddress!, threads: threads)
                    }
                }
            }
            if format == .csv && done == 0 {
                output += Lines.csvHeader(
                    thetaCount: results[0].thetaValues.count, labels: truth != nil, classNames: classNames)
            }
            for (i, r) in results[..<n].enumerated() {
                let label = truth.map { Int($0[done + i]) }
                if r.isFinite && r.digit == label { correct += 1 }
                if confusion != nil, r.isFinite, let label { answers.append((r.digit, label)) }
                output += Lines.format(
                    index: done + i, result: r, label: label, format: format, transform: transform,
                    logProbs: allLogProbs.isEmpty ? nil : allLogProbs[i], classNames: classNames)
            }
            try writeStandardOutput(output)
            try flushStandardOutput()
            output.removeAll(keepingCapacity: true)
            if let warpedImages {
                // Re-run each frame to read its transformer output (the batch kept only results).
                var result = InferenceResult()
                for i in 0 ..< n {
                    batch.withUnsafeBufferPointer {
                        engine.infer(frame: $0.baseAddress! + i * frameSize, into: &result)
                    }
                    try warpedImages.write(
                        engine, stem: WarpedImages.stem(sources[place[i].source].path), index: place[i].index)
                }
            }
            if explain != nil {
                kept.frames += batch[..<(n * frameSize)]
                kept.results += results[..<n]
            }
            done += n
            if let failure { throw failure }
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
        if let confusion {
            output += try ConfusionOutput.write(
                answers, classes: Self.classCount(file.architecture), classNames: classNames, to: confusion,
                format: format)
        }
        try writeStandardOutput(output)
        if let warpedImages {
            writeStandardError("stn-infer: wrote \(count) transformer outputs to \(warpedImages.directory)\n")
        }

        if let explain {
            let frames = kept.frames
            let results = kept.results
            var groups = [Array(0 ..< min(explainCount, results.count))]
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
                engine: engine, frames: frames, side: shaper.fitting.rows, results: results, labels: truth,
                groups: groups, groupTitles: titles
            ).writePNG(to: explain)
            writeStandardError("stn-infer: wrote \(explain)\n")
        }
    }
}

extension InferRequest {
    /// A model answering with an image: each answer written as a PNG (--images-out), one line
    /// per image naming the file.
    func inferImages(_ engine: Engine, sources: [FrameSource], count: Int) throws {
        guard let imagesOut else {
            throw ValidationError(
                "the model answers with a \(engine.answerShape) image, not class scores: give --images-out DIR to write them"
            )
        }
        let writer = try WarpedImages(answersIn: imagesOut, engine: engine)
        var frame = [Float](repeating: 0, count: engine.frameCount)
        var done = 0
        for source in sources where done < count {
            let stem = WarpedImages.stem(source.path)
            for index in 0 ..< min(source.count, count - done) {
                var result = InferenceResult()
                try frame.withUnsafeMutableBufferPointer {
                    try source.next(into: $0.baseAddress!)
                    engine.infer(frame: $0.baseAddress!, into: &result)
                }
                let path = try writer.writeAnswer(engine, stem: stem, index: index)
                switch format {
                case .text: try writeStandardOutput(formatted("%5d", done) + "  wrote \(path)\n")
                case .csv: try writeStandardOutput((done == 0 ? "index,image\n" : "") + "\(done),\(path)\n")
                case .json: try writeStandardOutput("{\"index\":\(done),\"image\":\"\(path)\"}\n")
                }
                done += 1
            }
        }
        try flushStandardOutput()
    }

    /// The classes a model tells apart: the width of its answer.
    static func classCount(_ architecture: Architecture) -> Int { architecture.classCount }

    /// The names of the model's classes (the weight file's `class_names`, one a line), or
    /// nil when it has none; names that do not match the model's classes are refused.
    static func classNames(_ file: WeightFileContents, path: String) throws -> [String]? {
        guard let attribute = file.attributes["class_names"] else { return nil }
        guard let text = attribute.stringValue else {
            throw EngineError("\(path): attribute 'class_names' is not a string (one class name a line)")
        }
        let names = ClassNames.parse(attribute: text)
        let classes = classCount(file.architecture)
        guard names.count == classes else {
            throw EngineError(
                "\(path): attribute 'class_names' names \(names.count) classes, the \(file.architecture.name) model answers with \(classes)"
            )
        }
        return names
    }

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

    /// The CSV header: theta's columns and the label's when there are any, the class name's
    /// when the model names its classes.
    static func csvHeader(thetaCount: Int, labels: Bool, classNames: [String]?) -> String {
        "index,digit" + (classNames != nil ? ",class" : "") + ",probability"
            + (0 ..< thetaCount).map { ",theta\($0)" }.joined() + (labels ? ",label" : "") + "\n"
    }

    /// `text` as a JSON string literal.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += formatted("\\u%04x", Int32(scalar.value))
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// `text` as a CSV field: quoted (quotes doubled) when it holds a comma, quote or line break.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        var out = "\""
        for c in text { out += c == "\"" ? "\"\"" : String(c) }
        return out + "\""
    }

    static func format(
        index: Int, result r: InferenceResult, label: Int?, format: InferCommand.Format, transform: String? = nil,
        logProbs: [Float]? = nil, classNames: [String]? = nil
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
            var line: String
            if let classNames {
                line = formatted("%5d", index) + "  class \(classNames[r.digit])" + formatted("  p %.4f", r.probability)
            } else {
                line = formatted("%5d  digit %d  p %.4f", index, r.digit, r.probability)
            }
            if let label {
                let name = classNames.map { label < $0.count ? $0[label] : String(label) } ?? String(label)
                line += r.digit == label ? "  ok" : "  WRONG (label \(name))"
            }
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
            var fields = [String(index), String(r.digit)]
            if let classNames { fields.append(csvField(classNames[r.digit])) }
            fields.append(number(r.probability))
            fields += r.thetaValues.map(number)
            if let label { fields.append(String(label)) }
            return fields.joined(separator: ",") + "\n"
        case .json:
            var json =
                "{\"index\":\(index),\"digit\":\(r.digit)"
                + (classNames.map { ",\"class\":\(jsonString($0[r.digit]))" } ?? "")
                + ",\"probability\":\(number(r.probability)),\"log_probs\":[\((logProbs ?? r.logProbabilities).map(number).joined(separator: ","))]"
            if r.hasTheta, let transform {
                json +=
                    ",\"transform\":\"\(transform)\",\"theta\":[\(r.thetaValues.map(number).joined(separator: ","))]"
            }
            if let label { json += ",\"label\":\(label)" }
            return json + "}\n"
        }
    }
}
