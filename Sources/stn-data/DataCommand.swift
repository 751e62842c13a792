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
        abstract: "Make and inspect the RTS-distorted MNIST data sets.",
        subcommands: [RTSCommand.self, InfoCommand.self])
}

struct RTSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rts",
        abstract: "Write an RTS-distorted MNIST split as IDX files with a preview.",
        discussion: """
            Each 28x28 digit is rotated by an angle uniform in [-45, 45] degrees and scaled by a factor uniform in [0.7, 1.2] about its centre (nearest neighbour, as torchvision's RandomAffine on PIL images), then pasted at a uniformly random offset in {0..13}^2 of a black 42x42 canvas. The same seed gives the same bytes on any machine. The standard test set is `--split test --seed 1`.

            Writes DIR/images-idx3-ubyte (N x 42 x 42), DIR/labels-idx1-ubyte, DIR/params.csv (the angle, scale and offset of every image) and DIR/preview.png (the first 100 images).
            """)

    @Option(help: "MNIST split to distort: test or train.") var split: String
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

    func run() throws {
        do {
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
            let rts = RTSDistortion(seed: seed)
            let started = Date()
            let images = rts.distort(mnist.images, epoch: epoch, threads: threads)
            let seconds = Date().timeIntervalSince(started)

            let suffix = gzip ? ".gz" : ""
            let imagesPath = out + "/images-idx3-ubyte" + suffix
            let labelsPath = out + "/labels-idx1-ubyte" + suffix
            try IDX.writeImages(images, to: imagesPath, gzip: gzip)
            try IDX.writeLabels(mnist.labels, to: labelsPath, gzip: gzip)
            var csv = "index,label,angle,scale,offset_x,offset_y\n"
            for i in 0 ..< images.count {
                let p = rts.parameters(index: i, epoch: epoch)
                csv += String(
                    format: "%d,%d,%.4f,%.4f,%d,%d\n", i, mnist.labels[i], p.angleDegrees, p.scale, p.offsetX, p.offsetY
                )
            }
            try writeAtomically(Array(csv.utf8), to: out + "/params.csv")
            try preview(images).writePNG(to: out + "/preview.png")
            print(
                String(
                    format: "distorted %d %@ images (seed %llu, epoch %d) in %.3f s on %d thread%@",
                    images.count, split, seed, epoch, seconds, threads, threads == 1 ? "" : "s"))
            print("wrote \(imagesPath) (\(images.count) x 42 x 42)")
            print("wrote \(labelsPath)")
            print("wrote \(out)/params.csv")
            print("wrote \(out)/preview.png (first \(min(100, images.count)) images)")
        }
    }

    /// A 10 x 10 grid of the first 100 images, each 2x, with grid lines between cells.
    func preview(_ images: IDXImages) -> Canvas {
        let cell = 42 * 2
        let gap = 2
        let side = 10
        var canvas = Canvas(
            width: side * (cell + gap) + gap, height: side * (cell + gap) + gap, background: RGB(90, 90, 110))
        for i in 0 ..< min(100, images.count) {
            canvas.drawGray(
                Array(images.image(i)), width: 42, height: 42,
                atX: gap + (i % side) * (cell + gap), y: gap + (i / side) * (cell + gap), scale: 2)
        }
        return canvas
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
                print(
                    "\(file): idx3 images, \(images.count) x \(images.rows) x \(images.columns), mean pixel \(String(format: "%.1f", mean))"
                )
            } else {
                do {
                    let labels = try IDX.readLabels(at: file)
                    var counts = [Int](repeating: 0, count: 256)
                    for l in labels { counts[Int(l)] += 1 }
                    let used = counts.indices.filter { counts[$0] > 0 }.map { "\($0):\(counts[$0])" }
                    print("\(file): idx1 labels, \(labels.count) items; counts \(used.joined(separator: " "))")
                } catch let error as IDXError {
                    // Report it as images if it claims three dimensions.
                    if case .wrongDimensions(3, 1) = error.kind { _ = try IDX.readImages(at: file) }
                    throw error
                }
            }
        }
    }
}
