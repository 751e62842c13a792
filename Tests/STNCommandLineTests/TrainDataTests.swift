import Foundation
import STNImage
import STNTestSupport
import XCTest

/// stn-train on the user's own data (--train): each kind of data trains a tiny model, class
/// names reach the weight file and stn-infer's answers, and every kind of bad input is one
/// line naming the file, with nothing written.
extension ToolTests {
    /// A model of `channels` x 8 x 8 frames and `classes` classes, written to `directory/NAME`.
    func writeTinyModel(_ directory: String, channels: Int, classes: Int, name: String = "model.txt") throws -> String {
        let path = directory + "/" + name
        try """
        stn-model 1 name=tiny
        input image \(channels)x8x8
        conv c0 image out=4 kernel=3 padding=1
        relu c1 c0
        flatten f c1
        linear out f out=\(classes)
        log_softmax p out
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// An image of class `label` (of 3): one bright channel (RGB) or a bright band (grey).
    func tinyImage(label: Int, index: Int, channels: Int, side: Int = 8) -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: side * side * channels)
        for y in 0 ..< side {
            for x in 0 ..< side {
                let noise = UInt8((x * 7 + y * 13 + index * 31) % 40)
                for c in 0 ..< channels {
                    let bright = channels == 3 ? c == label : (y * 3 / side) == label
                    pixels[(y * side + x) * channels + c] = bright ? 200 + noise : noise
                }
            }
        }
        return pixels
    }

    /// A folder of `perClass` images for each class name, PNG (RGB or grey) or PGM.
    func writeImageFolder(
        _ root: String, classes: [String], perClass: Int, channels: Int, side: Int = 8, pgm: Bool = false
    ) throws {
        for (label, name) in classes.enumerated() {
            try FileManager.default.createDirectory(atPath: "\(root)/\(name)", withIntermediateDirectories: true)
            for i in 0 ..< perClass {
                let pixels = tinyImage(label: label, index: i, channels: channels, side: side)
                let bytes =
                    pgm
                    ? Array("P5\n\(side) \(side)\n255\n".utf8) + pixels
                    : channels == 3
                        ? PNG.encode(width: side, height: side, rgb: pixels)
                        : PNG.encode(width: side, height: side, gray: pixels)
                try Data(bytes).write(to: URL(fileURLWithPath: "\(root)/\(name)/\(i).\(pgm ? "pgm" : "png")"))
            }
        }
    }

    /// Runs stn-train with a quick recipe; returns its outcome.
    func trainQuickly(_ arguments: [String]) throws -> Outcome {
        try run(
            "stn-train",
            arguments + ["--epochs", "2", "--batch-size", "8", "--lr", "0.05", "--threads", "2", "--quiet"])
    }

    func testTrainOnAnImageFolderNamesItsClassesInTheWeightsAndInStnInfer() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        try writeImageFolder(directory + "/photos", classes: ["cat", "dog", "fox"], perClass: 8, channels: 3)
        let model = try writeTinyModel(directory, channels: 3, classes: 3)
        let outcome = try trainQuickly([
            "--architecture", model, "--train", directory + "/photos", "--val-split", "0.25", "--out",
            directory + "/w.h5",
        ])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertTrue(
            outcome.stdout.contains(
                "data \(directory)/photos (image folder): 18 training images, 3 classes (cat, dog, fox); 6 test images held out of"
            ), outcome.stdout)
        let image = "\(directory)/photos/dog/3.png"
        let text = try run("stn-infer", [image, "--weights", directory + "/w.h5"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.hasPrefix("    0  class "), text.stdout)
        XCTAssertTrue(text.stdout.contains("  p "), text.stdout)
        let json = try run("stn-infer", [image, "--weights", directory + "/w.h5", "--format", "json"])
        XCTAssertTrue(json.stdout.contains(#""class":""#), json.stdout)
        let csv = try run("stn-infer", [image, "--weights", directory + "/w.h5", "--format", "csv"])
        XCTAssertTrue(csv.stdout.hasPrefix("index,digit,class,probability\n0,"), csv.stdout)
        // A resumed run keeps the names (here a finished checkpoint writing its weights again).
        let resumed = try run(
            "stn-train", ["--resume", directory + "/w.checkpoint.h5", "--out", directory + "/again.h5", "--quiet"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let again = try run("stn-infer", [image, "--weights", directory + "/again.h5"])
        XCTAssertEqual(again.stdout, text.stdout)
        // A weight file without names answers as before: "digit N".
        let plain = try run(
            "stn-infer",
            [image, "--weights", FixturePaths.packageRoot.appendingPathComponent("Weights/st-cnn.h5").path])
        XCTAssertFalse(plain.stdout.contains("class"), plain.stdout)
    }

    /// A CSV of path,label with named labels (grey PGM), tested on a second CSV; the images
    /// are 6x6 (--fit pad) or 10x10 (--fit resize) for 8x8 frames.
    func testTrainOnACSVListWithPadAndResize() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let model = try writeTinyModel(directory, channels: 1, classes: 3)
        for (fit, side) in [("pad", 6), ("resize", 10)] {
            let root = directory + "/\(fit)"
            try writeImageFolder(root, classes: ["a", "b", "c"], perClass: 6, channels: 1, side: side, pgm: true)
            var train = "path,label\n"
            var test = ""
            for (label, name) in ["a", "b", "c"].enumerated() {
                for i in 0 ..< 4 { train += "\(name)/\(i).pgm,\(name)\n" }
                for i in 4 ..< 6 { test += "\(name)/\(i).pgm,\(label)\n" }
            }
            try train.write(toFile: root + "/train.csv", atomically: true, encoding: .utf8)
            try test.write(toFile: root + "/test.csv", atomically: true, encoding: .utf8)
            let out = root + "/w.h5"
            let arguments = [
                "--architecture", model, "--train", root + "/train.csv", "--test", root + "/test.csv", "--out", out,
            ]
            try assertRefused(
                "stn-train", arguments,
                "\(root)/a/0.pgm: image is \(side)x\(side) (width x height), the model takes 8x8; pass --fit resize or --fit pad",
                status: 1)
            let outcome = try trainQuickly(arguments + ["--fit", fit])
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            XCTAssertTrue(
                outcome.stdout.contains(
                    "12 training images, 3 classes (a, b, c); 6 test images \(root)/test.csv (CSV list)"),
                outcome.stdout)
            XCTAssertTrue(FileManager.default.fileExists(atPath: out))
        }
    }

    /// N x H x W x C IDX images with their labels, as IMAGES,LABELS and as a folder of
    /// train-/t10k- pairs; --classes names them.
    func testTrainOnIDXPairsOfSeveralChannels() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let model = try writeTinyModel(directory, channels: 3, classes: 3)
        for split in ["train", "t10k"] {
            let count = split == "train" ? 18 : 6
            let pixels = (0 ..< count).flatMap { tinyImage(label: $0 % 3, index: $0, channels: 3) }
            try writeIDX([count, 8, 8, 3], pixels, to: "\(directory)/\(split)-images-idx4-ubyte")
            try writeIDX([count], (0 ..< count).map { UInt8($0 % 3) }, to: "\(directory)/\(split)-labels-idx1-ubyte")
        }
        try "red\ngreen\nblue\n".write(toFile: directory + "/classes.txt", atomically: true, encoding: .utf8)
        let pair = "\(directory)/train-images-idx4-ubyte,\(directory)/train-labels-idx1-ubyte"
        let outcome = try trainQuickly([
            "--architecture", model, "--train", pair, "--test", directory, "--classes", directory + "/classes.txt",
            "--out", directory + "/w.h5",
        ])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertTrue(outcome.stdout.contains("18 training images, 3 classes (red, green, blue); 6 test images"))
        let infer = try run(
            "stn-infer", [directory + "/t10k-images-idx4-ubyte", "--weights", directory + "/w.h5", "--limit", "2"])
        XCTAssertEqual(infer.status, 0, infer.stderr)
        XCTAssertTrue(infer.stdout.hasPrefix("    0  class "), infer.stdout)
        // Without names: numbered classes, the folder of pairs serving --train and --test.
        let numbered = try trainQuickly([
            "--architecture", model, "--train", directory, "--test", directory, "--out", directory + "/n.h5",
        ])
        XCTAssertEqual(numbered.status, 0, numbered.stderr)
        XCTAssertTrue(numbered.stdout.contains("18 training images, numbered classes; 6 test images"), numbered.stdout)
        let digits = try run("stn-infer", [directory + "/t10k-images-idx4-ubyte", "--weights", directory + "/n.h5"])
        XCTAssertTrue(digits.stdout.hasPrefix("    0  digit "), digits.stdout)
    }

    /// Grey images for an RGB model are refused unless --color rgb asks for grey in R, G and B.
    func testGreyImagesFeedAnRGBModelOnlyWhenAsked() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        try writeImageFolder(directory + "/grey", classes: ["a", "b", "c"], perClass: 4, channels: 1)
        let model = try writeTinyModel(directory, channels: 3, classes: 3)
        let arguments = [
            "--architecture", model, "--train", directory + "/grey", "--val-split", "0.25", "--out",
            directory + "/w.h5",
        ]
        try assertRefused(
            "stn-train", arguments,
            "\(directory)/grey/a/0.png: a grey image for a model of 3 channels: pass --color rgb to repeat grey in R, G and B",
            status: 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/w.h5"))
        let outcome = try trainQuickly(arguments + ["--color", "rgb"])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
    }

    /// Each fault of the data or of --init is one line naming the file, exit 1, and no file
    /// of the run is left behind.
    func testBadTrainingDataIsOneLineAndWritesNothing() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let model = try writeTinyModel(directory, channels: 3, classes: 3)
        let out = directory + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        func refused(_ data: [String], _ message: String, extra: [String] = [], line: UInt = #line) throws {
            try assertRefused(
                "stn-train", ["--architecture", model] + data + extra + ["--out", out + "/w.h5"], message, status: 1,
                line: line)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [], line: line)
        }
        let split = ["--val-split", "0.25"]

        let empty = directory + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        try refused(
            ["--train", empty] + split,
            "\(empty): holds no class folders (put each class's PNG or PGM images in a folder named after the class)")

        let photos = directory + "/photos"
        try writeImageFolder(photos, classes: ["a", "b", "c"], perClass: 4, channels: 3)
        try FileManager.default.createDirectory(atPath: photos + "/d", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: photos + "/d/notes.txt"))
        try refused(
            ["--train", photos] + split,
            "\(photos)/d: class folder holds no PNG or PGM images (1 other files, e.g. notes.txt: convert them to PNG)")
        try FileManager.default.removeItem(atPath: photos + "/d")

        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]).write(
            to: URL(fileURLWithPath: photos + "/b/2.png"))
        let corrupt = try run(
            "stn-train", ["--architecture", model, "--train", photos, "--out", out + "/w.h5"] + split)
        XCTAssertEqual(corrupt.status, 1)
        XCTAssertTrue(corrupt.stderr.hasPrefix("stn-train: error: \(photos)/b/2.png: "), corrupt.stderr)
        XCTAssertEqual(corrupt.stderr.filter { $0 == "\n" }.count, 1, corrupt.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [])

        try Data(PNG.encode(width: 9, height: 8, rgb: [UInt8](repeating: 1, count: 9 * 8 * 3))).write(
            to: URL(fileURLWithPath: photos + "/b/2.png"))
        try refused(
            ["--train", photos] + split,
            "\(photos)/b/2.png: image is 9x8 (width x height), the model takes 8x8; pass --fit resize or --fit pad")

        let images = directory + "/images-idx4-ubyte"
        let labels = directory + "/labels-idx1-ubyte"
        try writeIDX([4, 8, 8, 3], [UInt8](repeating: 7, count: 4 * 192), to: images)
        try writeIDX([4], [0, 1, 5, 2], to: labels)
        try refused(
            ["--train", "\(images),\(labels)"] + split,
            "\(labels): label 5 at index 2 is not one of the model's 3 classes (0-2)")
        try writeIDX([3], [0, 1, 2], to: labels)
        try refused(
            ["--train", "\(images),\(labels)"] + split, "\(labels): 3 labels for 4 images (one label per image)")

        try "\(photos)/a/0.png,1\n\(photos)/a/1.png,7\n\(photos)/a/2.png,0\n\(photos)/a/3.png,2\n".write(
            toFile: directory + "/list.csv", atomically: true, encoding: .utf8)
        try refused(
            ["--train", directory + "/list.csv"] + split,
            "\(photos)/a/1.png: label 7 is not one of the model's 3 classes (0-2)")

        // The data's classes and the model's outputs disagree.
        let four = try writeTinyModel(directory, channels: 3, classes: 4, name: "four.txt")
        try assertRefused(
            "stn-train", ["--architecture", four, "--train", photos, "--out", out + "/w.h5"] + split,
            "\(photos) (image folder): 3 classes (a, b, c), the tiny model answers with 4; train a model whose last layer has 3 outputs (with --init, --reset that layer)",
            status: 1)
    }

    /// --init from a model of another class count: refused naming the tensor and both
    /// shapes; --reset starts that layer afresh and trains.
    func testInitOfAnotherClassCountNeedsReset() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        try writeImageFolder(directory + "/photos", classes: ["a", "b", "c"], perClass: 4, channels: 3)
        let three = try writeTinyModel(directory, channels: 3, classes: 3)
        let first = try trainQuickly([
            "--architecture", three, "--train", directory + "/photos", "--val-split", "0.25", "--out",
            directory + "/three.h5",
        ])
        XCTAssertEqual(first.status, 0, first.stderr)
        try writeImageFolder(directory + "/four", classes: ["a", "b", "c", "d"], perClass: 4, channels: 3)
        let four = try writeTinyModel(directory, channels: 3, classes: 4, name: "four.txt")
        let arguments = [
            "--architecture", four, "--init", directory + "/three.h5", "--train", directory + "/four", "--val-split",
            "0.25", "--out", directory + "/w.h5",
        ]
        try assertRefused(
            "stn-train", arguments,
            "\(directory)/three.h5: parameter 'out.weight' is [3, 256], the model needs [4, 256]; --reset out. starts it afresh"
        )
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/w.h5"))
        let outcome = try trainQuickly(arguments + ["--reset", "out."])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        try assertRefused(
            "stn-train", ["--reset", "out.", "--out", directory + "/x.h5"],
            "--reset needs --init FILE (without it every parameter starts afresh)")
    }

    /// The flags of --train data are refused where they mean nothing.
    func testTrainDataFlagsAreCheckedAgainstEachOther() throws {
        try assertRefused(
            "stn-train", ["--train", "d", "--out", "w.h5"],
            "--train needs --test DATA or --val-split FRACTION (e.g. 0.1): images to measure the model on")
        try assertRefused(
            "stn-train", ["--train", "d", "--distortion", "rts", "--val-split", "0.1", "--out", "w.h5"],
            "--train gives your own data, --distortion and --data choose MNIST: pass one or the other")
        try assertRefused(
            "stn-train", ["--fit", "pad", "--out", "w.h5"],
            "--fit applies to --train data (MNIST's frames are made for the model)")
        try assertRefused(
            "stn-train", ["--train", "d", "--val-split", "1", "--out", "w.h5"],
            "--val-split must be a finite number > 0 and < 1, got 1.0")
        try assertRefused(
            "stn-train", ["--train", "d", "--val-split", "0.1", "--fit", "crop", "--out", "w.h5"],
            "--fit must be refuse, pad or resize, not 'crop'")
    }
}
