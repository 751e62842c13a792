import Foundation
import STNData
import STNImage
import STNTestSupport
import XCTest

/// Float32 IDX images through the tools: stn-train --train/--test and stn-infer (files and
/// standard input) take the values as the model's input, so a file holding k x (1/255) gives
/// what the 8-bit file gives; a NaN, a short file or an unknown type is one line.
extension ToolTests {
    /// Train and test pairs of 3 x 8 x 8 images, as bytes and as the floats they stand for:
    /// `directory/{train,t10k}-{images,floats,labels}`.
    func writeTinyPairs(_ directory: String) throws {
        for split in ["train", "t10k"] {
            let count = split == "train" ? 18 : 6
            let pixels = (0 ..< count).flatMap { tinyImage(label: $0 % 3, index: $0, channels: 3) }
            try writeIDX([count, 8, 8, 3], pixels, to: "\(directory)/\(split)-images")
            try IDX.writeFloatImages(
                pixels.map { Float($0) * (1 / 255) }, count: count, rows: 8, columns: 8, channels: 3,
                to: "\(directory)/\(split)-floats")
            try writeIDX([count], (0 ..< count).map { UInt8($0 % 3) }, to: "\(directory)/\(split)-labels")
        }
    }

    func testFloatIDXTrainsAndInfersAsTheByteFile() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        try writeTinyPairs(directory)
        let model = try writeTinyModel(directory, channels: 3, classes: 3)
        for kind in ["images", "floats"] {
            let outcome = try trainQuickly([
                "--architecture", model, "--train", "\(directory)/train-\(kind),\(directory)/train-labels",
                "--test", "\(directory)/t10k-\(kind),\(directory)/t10k-labels", "--out", "\(directory)/\(kind).h5",
            ])
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
        }
        // Either weight file answers either file alike, and standard input alike.
        var answerSets: [[String]] = []
        for weights in ["images", "floats"] {
            for kind in ["images", "floats"] {
                answerSets.append(
                    try answers([
                        "\(directory)/t10k-\(kind)", "--weights", "\(directory)/\(weights).h5", "--format", "json",
                        "--labels", "\(directory)/t10k-labels",
                    ]))
            }
        }
        XCTAssertEqual(answerSets[0].count, 7)
        for set in answerSets.dropFirst() { XCTAssertEqual(set, answerSets[0]) }
        let piped = try run(
            "stn-infer", ["-", "--weights", "\(directory)/floats.h5", "--format", "json"],
            input: try fileBytes("\(directory)/t10k-floats"))
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertEqual(
            piped.stdout.split(separator: "\n").map(String.init),
            try answers(["\(directory)/t10k-images", "--weights", "\(directory)/images.h5", "--format", "json"]))
    }

    func testBadFloatIDXIsOneLineNamingTheFileAndImage() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        try writeTinyPairs(directory)
        let model = try writeTinyModel(directory, channels: 3, classes: 3)
        let path = directory + "/bad-floats"
        var bytes = try fileBytes("\(directory)/train-floats")
        // Image 3, row 0, column 1, channel 2: a NaN.
        let at = 20 + 4 * (3 * 192 + 1 * 3 + 2)
        bytes.replaceSubrange(at ..< at + 4, with: [0x7F, 0xC0, 0, 0])
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let nan = "\(path): image 3 holds NaN at row 0, column 1, channel 2 (float32 images must be finite)"
        let out = directory + "/w.h5"
        let train = [
            "--architecture", model, "--test", "\(directory)/t10k-floats,\(directory)/t10k-labels", "--out", out,
        ]
        try assertRefused("stn-train", train + ["--train", "\(path),\(directory)/train-labels"], nan, status: 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        // stn-infer answers the images before it, then stops on it.
        let trained = try trainQuickly(train + ["--train", "\(directory)/train-floats,\(directory)/train-labels"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let stopped = try run("stn-infer", [path, "--weights", out])
        XCTAssertEqual(stopped.status, 1)
        XCTAssertEqual(stopped.stdout.split(separator: "\n").count, 3, stopped.stdout)
        XCTAssertEqual(stopped.stderr, "stn-infer: error: \(nan)\n")

        try Data(bytes.prefix(bytes.count - 5)).write(to: URL(fileURLWithPath: path))
        try assertRefused(
            "stn-train", train + ["--train", "\(path),\(directory)/train-labels"],
            "\(path): truncated: header declares 13824 data bytes but only 13819 follow", status: 1)
        bytes[2] = 0x0C
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        for tool in ["stn-train", "stn-infer"] {
            let arguments =
                tool == "stn-train"
                ? train + ["--train", "\(path),\(directory)/train-labels"] : [path, "--weights", out]
            try assertRefused(
                tool, arguments,
                "\(path): unsupported IDX element type 0c, expected 08 (unsigned byte) or 0d (float32)", status: 1)
        }
    }

    /// A 40x40 PNG with --fit resize into a 28x28 model gives the answer of the frame the
    /// trainer makes of it (FrameFitting, handed over as float32 IDX).
    func testFitResizeGivesTheAnswerOfTheTrainersFrame() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let grey = (0 ..< 40 * 40).map { (i: Int) -> UInt8 in
            let (y, x) = (i / 40, i % 40)
            return (12 ..< 28).contains(x) && (6 ..< 34).contains(y) ? UInt8(100 + (x * 7 + y * 3) % 150) : 0
        }
        let png = directory + "/digit40.png"
        try Data(PNG.encode(width: 40, height: 40, gray: grey)).write(to: URL(fileURLWithPath: png))
        let fitting = FrameFitting(rows: 28, columns: 28, channels: 1, fit: .resize)
        var frame = [Float](repeating: 0, count: fitting.frameCount)
        grey.withUnsafeBufferPointer { samples in
            frame.withUnsafeMutableBufferPointer {
                fitting.frame(
                    samples.baseAddress!, layout: ImageLayout(rows: 40, columns: 40, channels: 1),
                    into: $0.baseAddress!, scratch: ImageScratch())
            }
        }
        try IDX.writeFloatImages(frame, count: 1, rows: 28, columns: 28, to: directory + "/frame-idx")
        let common = ["--weights", Self.digitModel, "--format", "json"]
        let fromPNG = try answers([png, "--fit", "resize"] + common)
        XCTAssertEqual(fromPNG.count, 1)
        XCTAssertEqual(fromPNG, try answers([directory + "/frame-idx"] + common))
    }
}
