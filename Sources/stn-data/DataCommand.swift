import ArgumentParser
import Foundation
import STNCommandLine
import STNData
import STNImage
import STNSystem

@main
struct DataCommand: ParsableCommand {
    static func main() { runTool(DataCommand.self, name: "stn-data") }

    static let configuration = CommandConfiguration(
        commandName: "stn-data",
        abstract:
            "Make and inspect the distorted MNIST data sets: R, RTS, P, E of the paper's table 1, MNIST addition and cluttered MNIST.",
        subcommands: [
            RotationCommand.self, RTSCommand.self, ProjectiveCommand.self, ElasticCommand.self, AdditionCommand.self,
            ClutteredCommand.self, InfoCommand.self,
        ])
}

/// What every distortion command takes: which split, which draw, where to write.
struct DistortionOptions: ParsableArguments {
    @Option(help: "MNIST split to draw the digits from: test or train.") var split = "test"
    @Option(parsing: .unconditional, help: "Random seed (default: 1).", transform: parseSeed) var seed: UInt64 = 1
    @Option(parsing: .unconditional, help: "Epoch of the draw (training draws a fresh distortion per epoch).")
    var epoch: Int = 0
    @Option(
        parsing: .unconditional,
        help:
            "How many images: the split's first N (r, rts, p, e), or N however large (addition, cluttered, whose digits repeat past the split's size)."
    ) var count: Int?
    @Option(help: "MNIST directory (default: $STN_DATA, else ./Data/mnist).") var data: String?
    @Option(parsing: .unconditional, help: "Threads (the output does not depend on it).") var threads: Int = max(
        1, ProcessInfo.processInfo.activeProcessorCount)
    @Flag(help: "Gzip the IDX files (names end in .gz).") var gzip = false
    @Option(help: "Output directory (created if missing).") var out: String

    func validate() throws {
        guard split == "test" || split == "train" else {
            throw ValidationError("--split must be test or train, not '\(split)'")
        }
        try require(count, in: 1 ... Int.max, for: "--count")
        // The epoch keys 32 bits of each image's PRNG stream.
        try require(epoch, in: 0 ... Int(UInt32.max), for: "--epoch")
        try require(threads, in: 1 ... maximumThreads, for: "--threads")
    }

    /// Distorts the split with `distortion` (its first `--count` digits) and writes it as
    /// `write(name:header:row:make:)` does.
    func write(
        _ distortion: some DigitDistortion, header: String? = nil, row: (Int, UInt8) -> String = { _, _ in "" }
    ) throws {
        try write(name: distortion.name, header: header, row: row) { split in
            var digits = split
            if let count, count < split.labels.count {
                digits.images = split.images.prefix(count)
                digits.labels = Array(split.labels.prefix(count))
            }
            return (distortion.distort(digits.images, epoch: epoch, threads: threads), digits.labels)
        }
    }

    /// Loads the split, makes the data set with `make`, and writes DIR/images-idx3-ubyte
    /// (N x H x W, or N x H x W x C with channels), DIR/labels-idx1-ubyte, DIR/params.csv
    /// (`header`, then `row(index, label)` per image, when a header is given) and
    /// DIR/preview.png.
    func write(
        name: String, header: String?, row: (Int, UInt8) -> String,
        make: (MNISTSplit) throws -> (images: IDXImages, labels: [UInt8])
    ) throws {
        // Before the work: --out names a directory (an existing one is written into).
        if fileKind(out) == .file || fileKind(out) == .other {
            throw FileError(out, "exists and is not a directory (--out is the directory to write into)")
        }
        let directory = try MNIST.resolveDirectory(data)
        let mnist = try MNIST.load(split: split == "test" ? .test : .train, directory: directory)
        try createDirectories(out)
        let started = Date()
        let (images, labels) = try make(mnist)
        let seconds = Date().timeIntervalSince(started)

        let suffix = gzip ? ".gz" : ""
        let imagesPath = out + "/images-idx3-ubyte" + suffix
        let labelsPath = out + "/labels-idx1-ubyte" + suffix
        try IDX.writeImages(images, to: imagesPath, gzip: gzip)
        try IDX.writeLabels(labels, to: labelsPath, gzip: gzip)
        if let header {
            var csv = header + "\n"
            for i in 0 ..< images.count { csv += row(i, labels[i]) + "\n" }
            try writeAtomically(Array(csv.utf8), to: out + "/params.csv")
        }
        try preview(images).writePNG(to: out + "/preview.png")
        let channels = images.channels > 1 ? " x \(images.channels)" : ""
        try writeStandardOutputLine(
            String(
                format: "%@: made %d %@ images (seed %llu, epoch %d) in %.3f s on %d thread%@",
                name, images.count, split, seed, epoch, seconds, threads, threads == 1 ? "" : "s"))
        try writeStandardOutputLine(
            "wrote \(imagesPath) (\(images.count) x \(images.rows) x \(images.columns)\(channels))")
        try writeStandardOutputLine("wrote \(labelsPath)")
        if header != nil { try writeStandardOutputLine("wrote \(out)/params.csv") }
        try writeStandardOutputLine("wrote \(out)/preview.png (first \(min(100, images.count)) images)")
    }

    /// A grid of the first 100 images, 10 a row, each 2x (42 and larger) or 3x (28x28),
    /// with grid lines between cells; an image of several channels shows them side by side,
    /// a line apart.
    func preview(_ images: IDXImages) -> Canvas {
        let side = images.rows
        let scale = side >= 42 ? 2 : 3
        let channels = images.channels
        let cellHeight = side * scale
        let cellWidth = channels * side * scale + (channels - 1)
        let gap = 2
        let shown = min(100, images.count)
        let columns = 10
        let rows = (shown + columns - 1) / columns
        var canvas = Canvas(
            width: columns * (cellWidth + gap) + gap, height: rows * (cellHeight + gap) + gap,
            background: RGB(90, 90, 110))
        for i in 0 ..< shown {
            let image = Array(images.image(i))
            for c in 0 ..< channels {
                let plane = stride(from: c, to: image.count, by: channels).map { image[$0] }
                canvas.drawGray(
                    plane, width: images.columns, height: side,
                    atX: gap + (i % columns) * (cellWidth + gap) + c * (side * scale + 1),
                    y: gap + (i / columns) * (cellHeight + gap), scale: scale)
            }
        }
        return canvas
    }
}

struct RotationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "r",
        abstract: "Write a rotated (R) MNIST split as IDX files with a preview.",
        discussion: """
            Each 28x28 digit is rotated about its centre by an angle uniform in [-90, 90] degrees (nearest neighbour, zero fill, exactly as the RTS rotation at scale 1) on its own 28x28 canvas. The same seed gives the same bytes on any machine. The standard test set is `--split test --seed 1` (the defaults).

            Writes DIR/images-idx3-ubyte (N x 28 x 28), DIR/labels-idx1-ubyte, DIR/params.csv (every image's angle) and DIR/preview.png (the first 100 images).
            """)

    @OptionGroup var options: DistortionOptions

    func run() throws {
        let rotation = RotationDistortion(seed: options.seed)
        try options.write(rotation, header: "index,label,angle") { i, label in
            String(format: "%d,%d,%.4f", i, label, rotation.angleDegrees(index: i, epoch: options.epoch))
        }
    }
}

struct RTSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rts",
        abstract: "Write an RTS-distorted MNIST split as IDX files with a preview.",
        discussion: """
            Each 28x28 digit is rotated by an angle uniform in [-45, 45] degrees and scaled by a factor uniform in [0.7, 1.2] about its centre (nearest neighbour, as torchvision's RandomAffine on PIL images), then pasted at a uniformly random offset in {0..13}^2 of a black 42x42 canvas. The same seed gives the same bytes on any machine. The standard test set is `--split test --seed 1` (the defaults).

            Writes DIR/images-idx3-ubyte (N x 42 x 42), DIR/labels-idx1-ubyte, DIR/params.csv (the angle, scale and offset of every image) and DIR/preview.png (the first 100 images).
            """)

    @OptionGroup var options: DistortionOptions

    func run() throws {
        let rts = RTSDistortion(seed: options.seed)
        try options.write(rts, header: "index,label,angle,scale,offset_x,offset_y") { i, label in
            let p = rts.parameters(index: i, epoch: options.epoch)
            return String(
                format: "%d,%d,%.4f,%.4f,%d,%d", i, label, p.angleDegrees, p.scale, p.offsetX, p.offsetY)
        }
    }
}

struct ProjectiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "p",
        abstract: "Write a projected (P) MNIST split as IDX files with a preview.",
        discussion: """
            Each 28x28 digit is scaled about its centre by a factor s uniform in [0.75, 1] and warped projectively on a 28x28 canvas: the canvas's corners show the corners of the square of side 28/s about the digit's centre, each moved by normal offsets in x and y (zero mean, --corner-noise pixels standard deviation; redrawn if they stop bounding a convex quadrilateral), and every pixel samples the digit through the homography this fixes (bilinear, zero fill). The same seed gives the same bytes on any machine. The standard test set is `--split test --seed 1` (the defaults).

            Writes DIR/images-idx3-ubyte (N x 28 x 28), DIR/labels-idx1-ubyte, DIR/params.csv (every image's scale and the digit points, x0,y0 ... x3,y3, that the canvas's top-left, top-right, bottom-right and bottom-left corners show) and DIR/preview.png (the first 100 images).
            """)

    @OptionGroup var options: DistortionOptions
    @Option(
        parsing: .unconditional,
        help: "Standard deviation of each corner's offset, in pixels (default: 5).")
    var cornerNoise = ProjectiveDistortion.defaultCornerNoise

    func validate() throws {
        try require(cornerNoise, .atLeast(0), .atMost(28), for: "--corner-noise")
    }

    func run() throws {
        let projective = ProjectiveDistortion(seed: options.seed, cornerNoise: cornerNoise)
        try options.write(projective, header: "index,label,scale,x0,y0,x1,y1,x2,y2,x3,y3") { i, label in
            let p = projective.parameters(index: i, epoch: options.epoch)
            let corners = (0 ..< 8).map { String(format: "%.4f", p.corners[$0]) }.joined(separator: ",")
            return String(format: "%d,%d,%.4f,", i, label, p.scale) + corners
        }
    }
}

struct ElasticCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "e",
        abstract: "Write an elastically distorted (E) MNIST split as IDX files with a preview.",
        discussion: """
            Each 28x28 digit is warped as Simard et al. (2003) describe: two fields of uniform [-1, 1] values, smoothed by a Gaussian of standard deviation --sigma pixels and scaled by --alpha, displace every pixel's sampling point (bilinear, zero fill) on a 28x28 canvas. The same seed gives the same bytes on any machine. The standard test set is `--split test --seed 1` (the defaults).

            Writes DIR/images-idx3-ubyte (N x 28 x 28), DIR/labels-idx1-ubyte, DIR/params.csv (every image's root-mean-square and largest displacement, in pixels) and DIR/preview.png (the first 100 images).
            """)

    @OptionGroup var options: DistortionOptions
    @Option(parsing: .unconditional, help: "Scale of the smoothed displacement fields, in pixels (default: 34).")
    var alpha = ElasticDistortion.defaultAlpha
    @Option(parsing: .unconditional, help: "Standard deviation of the smoothing Gaussian, in pixels (default: 4).")
    var sigma = ElasticDistortion.defaultSigma

    func validate() throws {
        try require(alpha, .atLeast(0), .atMost(1000), for: "--alpha")
        try require(sigma, .above(0), .atMost(28), for: "--sigma")
    }

    func run() throws {
        let elastic = ElasticDistortion(seed: options.seed, alpha: alpha, sigma: sigma)
        let workspace = elastic.makeWorkspace()
        let n = ElasticDistortion.canvasSize * ElasticDistortion.canvasSize
        var dx = [Double](repeating: 0, count: n)
        var dy = [Double](repeating: 0, count: n)
        try options.write(elastic, header: "index,label,rms_displacement,max_displacement") { i, label in
            dx.withUnsafeMutableBufferPointer { dx in
                dy.withUnsafeMutableBufferPointer { dy in
                    elastic.displacements(
                        index: i, epoch: options.epoch, dx: dx.baseAddress!, dy: dy.baseAddress!, workspace: workspace)
                }
            }
            let squares = zip(dx, dy).map { $0 * $0 + $1 * $1 }
            let rms = (squares.reduce(0, +) / Double(n)).squareRoot()
            return String(format: "%d,%d,%.4f,%.4f", i, label, rms, squares.max()!.squareRoot())
        }
    }
}

struct AdditionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "addition",
        abstract: "Write the two-digit MNIST addition task (the paper's appendix A.1) as IDX files with a preview.",
        discussion: """
            Image i holds two different digits of the split, each in its own 42x42 channel: digit i (i modulo the split's size) in channel 0 and a random other digit in channel 1. Each channel is distorted independently exactly as `stn-data rts` distorts one digit (rotation uniform in [-45, 45] degrees, scale in [0.7, 1.2], a random offset in {0..13}^2), with its own draws. The label is the sum of the two digits, one of 19 classes (0 to 18). The same seed gives the same bytes on any machine and with any thread count; the test split uses only t10k digits. The standard test set is `--split test --seed 1` (the defaults).

            Writes DIR/images-idx3-ubyte (N x 42 x 42 x 2, channels last), DIR/labels-idx1-ubyte (the sums), DIR/params.csv (every image's two digits and their angles, scales and offsets) and DIR/preview.png (the first 100 images, the two channels side by side). N is the split's size (60,000 train, 10,000 test) unless --count says otherwise; beyond the split's size the first channel's digits repeat with fresh draws.
            """)

    @OptionGroup var options: CompositeOptions

    func validate() throws {
        try options.checkCount(bytesPerImage: MNISTAddition.canvasSize * MNISTAddition.canvasSize * 2)
    }

    func run() throws {
        let addition = MNISTAddition(seed: options.seed)
        // The split's size, known once `make` has loaded it (rows are written after).
        var digitCount = 0
        try options.write(
            name: "addition",
            header: "index,label,digit0,digit1,angle0,scale0,offset_x0,offset_y0,angle1,scale1,offset_x1,offset_y1",
            row: { i, label in
                let p = addition.parameters(index: i, epoch: options.epoch, digitCount: digitCount)
                return String(
                    format: "%d,%d,%d,%d,%.4f,%.4f,%d,%d,%.4f,%.4f,%d,%d", i, label, i % digitCount, p.partner,
                    p.first.angleDegrees, p.first.scale, p.first.offsetX, p.first.offsetY, p.second.angleDegrees,
                    p.second.scale, p.second.offsetX, p.second.offsetY)
            },
            make: { split in
                digitCount = split.labels.count
                return addition.compose(
                    split, count: options.imageCount(split), epoch: options.epoch, threads: options.threads)
            })
    }
}

struct ClutteredCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluttered",
        abstract: "Write translated and cluttered MNIST (the RAM benchmark, 60x60) as IDX files with a preview.",
        discussion: """
            Image i holds digit i of the split (i modulo the split's size) at a uniformly random position of a black canvas (--canvas-size, 60), on top of --pieces (6) pieces of clutter: --piece-size (8) square crops of random other digits of the split, each cut at a random place in its digit and put at a random position. As DeepMind's mnist-cluttered generator (used for the RAM paper, Mnih et al. 2014), the clutter is added first and the digit added over it, saturating at 255, so the digit is never dimmed. Six 8x8 pieces: six as the 60x60 set the STN recipes train on (Lasagne's mnist_cluttered_60x60_6distortions.npz), 8x8 as DeepMind's generator and the RAM paper (which used 4 at 60x60: --pieces 4). The label is the digit. The same seed gives the same bytes on any machine and with any thread count; the test split uses only t10k digits, for the digit and the clutter. The standard test set is `--split test --seed 1` (the defaults).

            Writes DIR/images-idx3-ubyte (N x 60 x 60, or the --canvas-size), DIR/labels-idx1-ubyte, DIR/params.csv (every image's digit position and its pieces, space-separated, each source:crop_x:crop_y:x:y: the digit it is cut from, the crop's corner in it, its position) and DIR/preview.png (the first 100 images). N is the split's size (60,000 train, 10,000 test) unless --count says otherwise; beyond the split's size the digits repeat with fresh draws.
            """)

    @OptionGroup var options: CompositeOptions
    @Option(parsing: .unconditional, help: "Side of the square canvas, in pixels (default: 60).")
    var canvasSize = ClutteredMNIST.defaultCanvasSize
    @Option(parsing: .unconditional, help: "Pieces of clutter per image (default: 6).")
    var pieces = ClutteredMNIST.defaultPieces
    @Option(parsing: .unconditional, help: "Side of each square piece of clutter, in pixels (default: 8).")
    var pieceSize = ClutteredMNIST.defaultPieceSize

    func validate() throws {
        try require(canvasSize, in: ClutteredMNIST.canvasSizes, for: "--canvas-size")
        try require(pieces, in: ClutteredMNIST.pieceCounts, for: "--pieces")
        try require(pieceSize, in: ClutteredMNIST.pieceSizes, for: "--piece-size")
        try options.checkCount(bytesPerImage: canvasSize * canvasSize)
    }

    func run() throws {
        let cluttered = ClutteredMNIST(seed: options.seed, canvasSize: canvasSize, pieces: pieces, pieceSize: pieceSize)
        // The split's size, known once `make` has loaded it (rows are written after).
        var digitCount = 0
        try options.write(
            name: "cluttered", header: "index,label,digit,digit_x,digit_y,pieces",
            row: { i, label in
                let p = cluttered.parameters(index: i, epoch: options.epoch, digitCount: digitCount)
                let pieces = p.pieces.map { "\($0.source):\($0.sourceX):\($0.sourceY):\($0.x):\($0.y)" }
                return "\(i),\(label),\(i % digitCount),\(p.digitX),\(p.digitY),"
                    + pieces.joined(separator: " ")
            },
            make: { split in
                digitCount = split.labels.count
                return cluttered.compose(
                    split, count: options.imageCount(split), epoch: options.epoch, threads: options.threads)
            })
    }
}

/// The options of the data sets made of several digits (addition, cluttered): a distortion's,
/// where --count may exceed the split's size.
struct CompositeOptions: ParsableArguments {
    @OptionGroup var distortion: DistortionOptions

    var seed: UInt64 { distortion.seed }
    var epoch: Int { distortion.epoch }
    var threads: Int { distortion.threads }

    /// Refuses a --count whose images file would exceed what IDX files hold (before any work).
    func checkCount(bytesPerImage: Int) throws {
        let most = IDX.maximumBytes / bytesPerImage
        if let count = distortion.count, count > most {
            throw ValidationError(
                "--count \(count) would write more than the \(IDX.maximumBytes) bytes an IDX file holds here: at most \(most) images of \(bytesPerImage) bytes"
            )
        }
    }

    /// --count, or the split's size.
    func imageCount(_ split: MNISTSplit) -> Int { distortion.count ?? split.labels.count }

    func write(
        name: String, header: String, row: (Int, UInt8) -> String,
        make: (MNISTSplit) throws -> (images: IDXImages, labels: [UInt8])
    ) throws {
        try distortion.write(name: name, header: header, row: row, make: make)
    }
}

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Print an IDX file's shape, after validating it.")

    @Argument(
        help:
            "An idx1 (labels) or idx3 (images, N x H x W or N x H x W x C, 8-bit or float32) file, raw or gzip.")
    var file: String

    func run() throws {
        do {
            if let stream = try? IDXStream(path: file) {
                // Every image is read (and checked: a float32 NaN or infinity is refused).
                var sum = 0.0
                var count = 0
                let scratch = ImageScratch()
                let samples = stream.pixelsPerImage
                while let layout = try stream.next(into: scratch) {
                    if layout.isFloat {
                        for v in scratch.floats[..<samples] { sum += Double(v) }
                    } else {
                        for v in scratch.samples[..<samples] { sum += Double(v) }
                    }
                    count += 1
                }
                let mean = sum / Double(max(1, count * samples))
                let channels = stream.channels > 1 ? " x \(stream.channels)" : ""
                let shape = "\(count) x \(stream.rows) x \(stream.columns)\(channels)"
                try writeStandardOutputLine(
                    stream.element == .float32
                        ? "\(file): idx3 float32 images, \(shape), mean value \(String(format: "%.4f", mean))"
                        : "\(file): idx3 images, \(shape), mean pixel \(String(format: "%.1f", mean))")
            } else {
                do {
                    let labels = try IDX.readLabels(at: file)
                    var counts = [Int](repeating: 0, count: 256)
                    for l in labels { counts[Int(l)] += 1 }
                    let used = counts.indices.filter { counts[$0] > 0 }.map { "\($0):\(counts[$0])" }
                    try writeStandardOutputLine(
                        "\(file): idx1 labels, \(labels.count) items; counts \(used.joined(separator: " "))")
                } catch let error as IDXError {
                    // Report it as images if it claims three or four dimensions.
                    if case .wrongDimensions(let found, 1) = error.kind, found == 3 || found == 4 {
                        _ = try IDXStream(path: file)
                    }
                    throw error
                }
            }
        }
    }
}
