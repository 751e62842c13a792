import Foundation
import STNImage
import STNModel
import STNSystem
import STNTensorBoard
import STNTestSupport
import XCTest

/// What a user watches and gets from stn-train (docs/training.md, "Watching training"):
/// --tensorboard, --keep, --augment, the per-class table and confusion matrix, and the
/// progress bar on a terminal.
extension ToolTests {
    /// The records of a TensorBoard event file, each checked against its two CRCs.
    func eventRecords(_ path: String) throws -> [[UInt8]] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var records: [[UInt8]] = []
        var at = 0
        func word<T: FixedWidthInteger>(_ type: T.Type, _ offset: Int) -> T {
            bytes[offset ..< offset + MemoryLayout<T>.size].reversed().reduce(T(0)) { $0 << 8 | T($1) }
        }
        while at < bytes.count {
            XCTAssertLessThanOrEqual(at + 12, bytes.count, "a cut record header")
            let length = Int(word(UInt64.self, at))
            XCTAssertEqual(word(UInt32.self, at + 8), CRC32C.masked(CRC32C.checksum(bytes[at ..< at + 8])))
            let data = Array(bytes[at + 12 ..< at + 12 + length])
            XCTAssertEqual(word(UInt32.self, at + 12 + length), CRC32C.masked(CRC32C.checksum(data)))
            records.append(data)
            at += 16 + length
        }
        return records
    }

    func contains(_ record: [UInt8], _ text: String) -> Bool {
        let needle = Array(text.utf8)
        return record.count >= needle.count
            && (0 ... record.count - needle.count).contains { record[$0 ..< $0 + needle.count].elementsEqual(needle) }
    }

    /// The brief's end-to-end run, small: events for both epochs with scalars and the
    /// transformer's images, the best epoch kept and named, the per-class table and the
    /// confusion matrix, with a jitter on the training images.
    func testTrainWritesTensorBoardKeepsTheBestEpochAndDrawsTheConfusionMatrix() throws {
        let mnist = try FixturePaths.mnistDirectory()
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let outcome = try run(
            "stn-train",
            [
                "--model", "st-cnn", "--limit", "256", "--test-limit", "200", "--epochs", "3", "--batch-size", "64",
                "--threads", "2", "--data", mnist, "--tensorboard", directory + "/tb", "--keep", "best", "--augment",
                "rotate=10", "--out", directory + "/x.h5",
            ], timeout: 300)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)

        // One event file: the version, then one summary per epoch.
        let files = try FileManager.default.contentsOfDirectory(atPath: directory + "/tb")
        XCTAssertEqual(files.count, 1)
        XCTAssertTrue(files[0].hasPrefix("events.out.tfevents."), files[0])
        let records = try eventRecords(directory + "/tb/" + files[0])
        XCTAssertEqual(records.count, 4)
        XCTAssertTrue(contains(records[0], "brain.Event:2"))
        for record in records.dropFirst() {
            for tag in ["loss/train", "loss/test", "accuracy/test", "learning_rate", "transformer/test_image_3"] {
                XCTAssertTrue(contains(record, tag), tag)
            }
            XCTAssertTrue(contains(record, "\u{89}PNG") || record.contains(0x89))
        }

        // The kept epoch is the log's best test accuracy (the first of equals, by loss).
        let log = try String(contentsOfFile: directory + "/x.csv", encoding: .utf8)
        let rows = log.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map { Double($0)! } }
        XCTAssertEqual(rows.count, 3)
        let best = rows.max { $0[4] < $1[4] || ($0[4] == $1[4] && $0[3] > $1[3]) }!
        let weights = try WeightFile.read(directory + "/x.h5")
        XCTAssertEqual(weights.attributes["kept"]?.stringValue, "best")
        XCTAssertEqual(weights.attributes["kept_epoch"]?.intValue, Int(best[0]))
        XCTAssertEqual(weights.attributes["test_accuracy"]?.doubleValue ?? -1, best[4], accuracy: 1e-6)
        XCTAssertEqual(
            weights.attributes["augment"]?.stringValue, "rotate=10,scale=1,shift=0,projective=0,elastic=0,sigma=4")

        // The per-class table adds up to the kept epoch's accuracy, and the chart is a PNG.
        XCTAssertTrue(
            outcome.stdout.contains("per-class accuracy on the 200 test images, epoch \(Int(best[0])) weights (best):"))
        let allLine = outcome.stdout.split(separator: "\n").first { $0.hasPrefix("all ") }.map(String.init) ?? ""
        let right = Int(allLine.split(separator: " ")[2]) ?? -1
        XCTAssertEqual(Double(right) / 200, best[4], accuracy: 1e-9, allLine)
        XCTAssertTrue(outcome.stdout.contains("done: kept epoch \(Int(best[0])) (best)"), outcome.stdout)
        let chart = try ImageFile.read(directory + "/x.confusion.png")
        XCTAssertGreaterThan(chart.width, 300)
        // Standard error is not a terminal here: no bar, plain progress lines on standard output.
        XCTAssertEqual(outcome.stderr, "")
        XCTAssertTrue(outcome.stdout.contains("epoch 1/3  batch 4/4"), outcome.stdout)
    }

    func testReportingFlagsAreCheckedBeforeTraining() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        try assertRefused(
            "stn-train", ["--keep", "worst", "--out", "w.h5"], "--keep must be best or last, not 'worst'")
        try assertRefused(
            "stn-train", ["--augment", "spin=3", "--out", "w.h5"],
            "--augment spin=3: unknown key 'spin' (keys: rotate, scale, shift, projective, elastic, sigma)")
        try assertRefused(
            "stn-train", ["--augment", "rotate=10,scale=2-1", "--out", "w.h5"],
            "--augment rotate=10,scale=2-1: scale=2-1: the low end is above the high end")
        // A --tensorboard path that is a file: one line, and nothing written.
        let mnist = try FixturePaths.mnistDirectory()
        XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/tb", contents: Data()))
        try assertRefused(
            "stn-train",
            [
                "--model", "cnn", "--epochs", "1", "--limit", "64", "--data", mnist, "--tensorboard", directory + "/tb",
                "--out", directory + "/x.h5",
            ], "--tensorboard: \(directory)/tb: exists and is not a directory", status: 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["tb"])
    }

    /// On a terminal the progress is a bar with the time left, on standard error, and
    /// standard output keeps only the lines a log wants.
    func testProgressIsABarOnATerminal() throws {
        let mnist = try FixturePaths.mnistDirectory()
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        // A pseudo-terminal for standard error, read while the trainer runs.
        // (posix_openpt and ptsname are not imported into Swift: /dev/ptmx and its ioctls,
        // TIOCSPTLCK to unlock and TIOCGPTN for the number, Linux's values.)
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        guard master >= 0 else { throw XCTSkip("no pseudo-terminals here") }
        defer { close(master) }
        var unlock: Int32 = 0
        XCTAssertEqual(ioctl(master, UInt(0x4004_5431), &unlock), 0)
        var number: UInt32 = 0
        XCTAssertEqual(ioctl(master, UInt(0x8004_5430), &number), 0)
        let terminalPath = "/dev/pts/\(number)"
        let terminal = try XCTUnwrap(FileHandle(forWritingAtPath: terminalPath))
        let executable = Self.buildDirectory.appendingPathComponent("stn-train")
        guard FileManager.default.isExecutableFile(atPath: executable.path) else { throw XCTSkip("not built") }
        let process = Process()
        process.executableURL = executable
        process.arguments = [
            "--model", "cnn", "--limit", "2000", "--test-limit", "100", "--epochs", "1", "--batch-size", "16",
            "--threads", "1", "--data", mnist, "--out", directory + "/x.h5",
        ]
        let stdoutPath = directory + "/stdout"
        XCTAssertTrue(FileManager.default.createFile(atPath: stdoutPath, contents: nil))
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = terminal
        process.standardInput = FileHandle.nullDevice
        let collected = UncheckedBox()
        let reader = Thread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(master, &buffer, buffer.count)
                if n <= 0 { break }
                collected.append(buffer[0 ..< n])
            }
        }
        try process.run()
        try terminal.close()
        reader.start()
        process.waitUntilExit()
        usleep(200_000)
        XCTAssertEqual(process.terminationStatus, 0)
        let screen = String(decoding: collected.bytes, as: UTF8.self)
        XCTAssertTrue(screen.contains("\r\u{1B}[Kepoch 1/1 ["), screen)
        XCTAssertTrue(screen.contains("ETA"), screen)
        XCTAssertTrue(screen.contains("] 100%"), screen)
        let stdout = try String(contentsOfFile: stdoutPath, encoding: .utf8)
        XCTAssertFalse(stdout.contains("ETA"), stdout)
        XCTAssertTrue(stdout.contains("epoch   1/1  train loss"), stdout)
    }
}

/// Bytes gathered by the reader thread.
final class UncheckedBox: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [UInt8] = []
    func append(_ more: ArraySlice<UInt8>) { lock.withLock { storage += more } }
    var bytes: [UInt8] { lock.withLock { storage } }
}

extension ToolTests {
    /// stn-infer --labels --confusion: the per-class table after the accuracy line, adding up
    /// to it, and the chart; without --labels, one line.
    func testInferDrawsTheConfusionMatrix() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let samples = FixturePaths.packageRoot.appendingPathComponent("Weights/samples").path
        let outcome = try run(
            "stn-infer",
            [
                samples + "/images-idx3-ubyte", "--labels", samples + "/labels-idx1-ubyte", "--weights",
                FixturePaths.packageRoot.appendingPathComponent("Weights/st-cnn.h5").path, "--confusion",
                directory + "/c.png",
            ])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let lines = outcome.stdout.split(separator: "\n").map(String.init)
        let accuracy = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("accuracy: ") })
        XCTAssertTrue(lines[accuracy + 1].hasPrefix("class   images    right  accuracy"), lines[accuracy + 1])
        let all = lines[accuracy + 12].split(separator: " ")
        XCTAssertEqual(all[0], "all")
        XCTAssertTrue(lines[accuracy].contains("(\(all[2])/\(all[1]))"), lines[accuracy])
        XCTAssertEqual(outcome.stderr, "stn-infer: wrote \(directory)/c.png\n")
        XCTAssertGreaterThan(try ImageFile.read(directory + "/c.png").width, 300)
        try assertRefused(
            "stn-infer", [samples + "/images-idx3-ubyte", "--confusion", directory + "/d.png"],
            "--confusion needs --labels LABELS.idx (to know each image's true class)")
    }
}
