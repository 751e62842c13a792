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
        abstract: "Make and inspect the distorted MNIST data sets (R, RTS, P, E of the paper's table 1).",
        subcommands: [
            RotationCommand.self, RTSCommand.self, ProjectiveCommand.self, ElasticCommand.self, InfoCommand.self,
        ])
}

/// What every distortion command takes: which split, which draw, where to write.
struct DistortionOptions: ParsableArguments {
    @Option(help: "MNIST split to distort: test or train.") var split = "test"
    @Option(parsing: .unconditional, help: "Random seed (default: 1).", transform: parseSeed) var seed: UInt64 = 1
    @Option(parsing: .unconditional, help: "Epoch of the draw (training draws a fresh distortion per epoch).")
    var epoch: Int = 0
    @Option(parsing: .unconditional, help: "Distort only the first N images.") var count: Int?
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

    /// Distorts the split with `distortion` and writes DIR/images-idx3-ubyte,
    /// DIR/labels-idx1-ubyte, DIR/params.csv (`header`, then `row(index, label)` per image,
    /// when a header is given) and DIR/preview.png.
    func write(
        _ distortion: some DigitDistortion, header: String? = nil, row: (Int, UInt8) -> String = { _, _ in "" }
    ) throws {
        // Before the work: --out names a directory (an existing one is written into).
        if fileKind(out) == .file || fileKind(out) == .other {
            throw FileError(out, "exists and is not a directory (--out is the directory to write into)")
        }
        let directory = try MNIST.resolveDirectory(data)
        var mnist = try MNIST.load(split: split == "test" ? .test : .train, directory: directory)
        if let count, count < mnist.labels.count {
            mnist.images = mnist.images.prefix(count)
            mnist.labels = Array(mnist.labels.prefix(count))
        }
        try createDirectories(out)
        let started = Date()
        let images = distortion.distort(mnist.images, epoch: epoch, threads: threads)
        let seconds = Date().timeIntervalSince(started)

        let suffix = gzip ? ".gz" : ""
        let imagesPath = out + "/images-idx3-ubyte" + suffix
        let labelsPath = out + "/labels-idx1-ubyte" + suffix
        try IDX.writeImages(images, to: imagesPath, gzip: gzip)
        try IDX.writeLabels(mnist.labels, to: labelsPath, gzip: gzip)
        if let header {
            var csv = header + "\n"
            for i in 0 ..< images.count { csv += row(i, mnist.labels[i]) + "\n" }
            try writeAtomically(Array(csv.utf8), to: out + "/params.csv")
        }
        try preview(images).writePNG(to: out + "/preview.png")
        let side = distortion.canvasSide
        try writeStandardOutputLine(
            String(
                format: "%@: distorted %d %@ images (seed %llu, epoch %d) in %.3f s on %d thread%@",
                distortion.name, images.count, split, seed, epoch, seconds, threads, threads == 1 ? "" : "s"))
        try writeStandardOutputLine("wrote \(imagesPath) (\(images.count) x \(side) x \(side))")
        try writeStandardOutputLine("wrote \(labelsPath)")
        if header != nil { try writeStandardOutputLine("wrote \(out)/params.csv") }
        try writeStandardOutputLine("wrote \(out)/preview.png (first \(min(100, images.count)) images)")
    }

    /// A grid of the first 100 images, 10 a row, each 2x (RTS) or 3x (28x28), with grid
    /// lines between cells.
    func preview(_ images: IDXImages) -> Canvas {
        let side = images.rows
        let scale = side >= 42 ? 2 : 3
        let cell = side * scale
        let gap = 2
        let shown = min(100, images.count)
        let columns = 10
        let rows = (shown + columns - 1) / columns
        var canvas = Canvas(
            width: columns * (cell + gap) + gap, height: rows * (cell + gap) + gap, background: RGB(90, 90, 110))
        for i in 0 ..< shown {
            canvas.drawGray(
                Array(images.image(i)), width: side, height: side,
                atX: gap + (i % columns) * (cell + gap), y: gap + (i / columns) * (cell + gap), scale: scale)
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

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Print an IDX file's shape, after validating it.")

    @Argument(help: "An idx1 (labels) or idx3 (images) file, raw or gzip.") var file: String

    func run() throws {
        do {
            if let images = try? IDX.readImages(at: file) {
                let mean = Double(images.pixels.reduce(0) { $0 + Int($1) }) / Double(max(1, images.pixels.count))
                try writeStandardOutputLine(
                    "\(file): idx3 images, \(images.count) x \(images.rows) x \(images.columns), mean pixel \(String(format: "%.1f", mean))"
                )
            } else {
                do {
                    let labels = try IDX.readLabels(at: file)
                    var counts = [Int](repeating: 0, count: 256)
                    for l in labels { counts[Int(l)] += 1 }
                    let used = counts.indices.filter { counts[$0] > 0 }.map { "\($0):\(counts[$0])" }
                    try writeStandardOutputLine(
                        "\(file): idx1 labels, \(labels.count) items; counts \(used.joined(separator: " "))")
                } catch let error as IDXError {
                    // Report it as images if it claims three dimensions.
                    if case .wrongDimensions(3, 1) = error.kind { _ = try IDX.readImages(at: file) }
                    throw error
                }
            }
        }
    }
}
