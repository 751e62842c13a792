import Foundation
import STNSystem
import STNTestSupport
import XCTest

/// The command-line tools as a user runs them: the executables built beside this test
/// bundle (so the checked build tests the checked tools). Every failure is one line on
/// standard error and a non-zero exit, never a trap.
final class ToolTests: XCTestCase {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        /// How the process ended: a trap is `.uncaughtSignal`.
        var reason: Process.TerminationReason
    }

    /// The build folder holding the tools: where this test executable is.
    static let buildDirectory = URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0])
        .deletingLastPathComponent()

    /// Runs `tool` with `arguments`, in `directory`, killing it after `timeout` seconds.
    /// `input` arrives on its standard input through a pipe (else it reads /dev/null);
    /// `output` names a file standard output goes to instead of being captured (/dev/full).
    func run(
        _ tool: String, _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:],
        timeout: TimeInterval = 120, input: [UInt8]? = nil, output: String? = nil
    ) throws -> Outcome {
        let executable = Self.buildDirectory.appendingPathComponent(tool)
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw XCTSkip("\(executable.path) is not built")
        }
        // Output goes to files, read once the tool has exited (pipes could fill and block it).
        let capture = NSTemporaryDirectory() + "stn-tool-output-\(UUID().uuidString)"
        FileManager.default.createFile(atPath: capture + ".out", contents: nil)
        FileManager.default.createFile(atPath: capture + ".err", contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: capture + ".out")
            try? FileManager.default.removeItem(atPath: capture + ".err")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle(forWritingAtPath: output ?? capture + ".out")
        process.standardError = FileHandle(forWritingAtPath: capture + ".err")
        let pipe = input.map { _ in Pipe() }
        process.standardInput = pipe ?? FileHandle.nullDevice
        try process.run()
        if let pipe, let input {
            // Written beside the tool (a pipe holds 64 KiB); a tool that stops reading ends
            // the writer with EPIPE, not the test with SIGPIPE.
            signal(SIGPIPE, SIG_IGN)
            let writer = pipe.fileHandleForWriting
            Thread.detachNewThread {
                var sent = 0
                while sent < input.count {
                    let n = input.withUnsafeBytes {
                        write(writer.fileDescriptor, $0.baseAddress! + sent, $0.count - sent)
                    }
                    if n <= 0 { break }
                    sent += n
                }
                try? writer.close()
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus,
            stdout: (try? String(contentsOfFile: capture + ".out", encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: capture + ".err", encoding: .utf8)) ?? "",
            reason: process.terminationReason)
    }

    /// Expects exactly one line on standard error, `TOOL: error: MESSAGE`, and exit status `status`.
    func assertRefused(
        _ tool: String, _ arguments: [String], _ message: String, status: Int32 = 64, in directory: String? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let outcome = try run(tool, arguments, in: directory)
        XCTAssertEqual(outcome.reason, .exit, "\(tool) \(arguments) was killed by a signal", file: file, line: line)
        XCTAssertEqual(outcome.status, status, "\(tool) \(arguments): \(outcome.stderr)", file: file, line: line)
        XCTAssertEqual(outcome.stderr, "\(tool): error: \(message)\n", "\(tool) \(arguments)", file: file, line: line)
    }

    // MARK: Numeric options

    /// `--epochs -1` was "Missing value for '--epochs'" (ArgumentParser took -1 for a flag);
    /// negative numbers are now values, refused with their range.
    func testNegativeNumbersAreValuesRefusedWithTheirRange() throws {
        try assertRefused(
            "stn-train", ["--epochs", "-1", "--out", "w.h5"], "--epochs must be between 1 and 10000, got -1")
        try assertRefused(
            "stn-train", ["--batch-size", "-3", "--out", "w.h5"], "--batch-size must be between 1 and 4096, got -3")
        try assertRefused("stn-train", ["--lr", "-0.1", "--out", "w.h5"], "--lr must be a finite number > 0, got -0.1")
        try assertRefused(
            "stn-train", ["--momentum", "-1", "--out", "w.h5"],
            "--momentum must be a finite number >= 0 and < 1, got -1.0"
        )
        try assertRefused("stn-train", ["--limit", "-5", "--out", "w.h5"], "--limit must be at least 1, got -5")
        try assertRefused(
            "stn-train", ["--seed", "-1", "--out", "w.h5"],
            "The value '-1' is invalid for '--seed <seed>': a seed is an integer from 0 to 18446744073709551615")
        try assertRefused("stn-infer", ["images", "--limit", "-2"], "--limit must be at least 1, got -2")
        try assertRefused(
            "stn-infer", ["images", "--explain-count", "-1"], "--explain-count must be between 1 and 100, got -1")
        try assertRefused(
            "stn-data", ["rts", "--split", "test", "--out", "d", "--epoch", "-1"],
            "--epoch must be between 0 and 4294967295, got -1")
        try assertRefused(
            "stn-data", ["rts", "--split", "test", "--out", "d", "--count", "-1"], "--count must be at least 1, got -1")
        try assertRefused("stn-bench", ["infer", "--frames", "-5"], "--frames must be between 10 and 10000000, got -5")
        try assertRefused("stn-bench", ["train", "--batches", "-1"], "--batches must be between 1 and 100000, got -1")
    }

    /// stn-bench train measures any model: a converted ONNX file's (`--weights`) or a
    /// description's (`--architecture`), named in its line; both at once are refused.
    func testStnBenchTrainsAConvertedModel() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let onnx = FixturePaths.packageRoot.appendingPathComponent("Tests/Fixtures/users/gtsrb32-legacy20.onnx").path
        let converted = try run("stn-convert", [onnx, "--out", directory + "/gtsrb32.h5"])
        XCTAssertEqual(converted.status, 0, converted.stderr)
        let outcome = try run(
            "stn-bench", ["train", "--weights", directory + "/gtsrb32.h5", "--batch-size", "4", "--batches", "1"])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertTrue(outcome.stdout.hasPrefix("stn-bench train: gtsrb32-legacy20, batch 4,"), outcome.stdout)
        try assertRefused(
            "stn-bench", ["train", "--weights", "a.h5", "--architecture", "b.txt"],
            "give --weights or --architecture, not both")
        let missing = try run("stn-bench", ["train", "--architecture", directory + "/none.txt"])
        XCTAssertEqual(missing.status, 64)  // EX_USAGE, as stn-train for the same mistake
        XCTAssertEqual(missing.stderr, "stn-bench: error: \(directory)/none.txt: cannot read the model description\n")
    }

    /// STN_ISA chooses the kernels: stn-bench reports the one in use; a name that is no ISA
    /// is one error line from every tool that runs kernels, before any work.
    func testSTNISAChoosesTheKernelsAndABadOneIsRefused() throws {
        for isa in ["avx2", "portable"] {
            let outcome = try run(
                "stn-bench", ["infer", "--model", "cnn", "--frames", "10", "--threads", "1", "--json"],
                environment: ["STN_ISA": isa])
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            XCTAssertTrue(outcome.stdout.contains("\"isa\":\"\(isa)\""), outcome.stdout)
        }
        let message = "STN_ISA=sse2: no such ISA (avx512, avx2 or portable)"
        for (tool, arguments) in [
            ("stn-bench", ["infer", "--frames", "10"]), ("stn-infer", ["images"]), ("stn-train", ["--out", "w.h5"]),
            ("stn-report", ["invariance", "--weights", "w.h5", "--out", "x.png"]),
        ] {
            let outcome = try run(tool, arguments, environment: ["STN_ISA": "sse2"])
            XCTAssertEqual(outcome.reason, .exit, "\(tool) was killed by a signal")
            XCTAssertEqual(outcome.status, 1, "\(tool): \(outcome.stderr)")
            XCTAssertEqual(outcome.stderr, "\(tool): error: \(message)\n")
        }
    }

    /// `stn-bench train --threads 10000` ran unbounded (13 GB); every tool bounds --threads.
    func testThreadCountsAreBoundedInEveryTool() throws {
        let refused = "--threads must be between 1 and 256, got"
        try assertRefused("stn-bench", ["train", "--threads", "10000"], "\(refused) 10000")
        try assertRefused("stn-bench", ["infer", "--threads", "0"], "\(refused) 0")
        try assertRefused(
            "stn-bench", ["train", "--batch-size", "100000"], "--batch-size must be between 1 and 4096, got 100000")
        try assertRefused("stn-train", ["--threads", "257", "--out", "w.h5"], "\(refused) 257")
        try assertRefused("stn-infer", ["images", "--threads", "-2"], "\(refused) -2")
        try assertRefused("stn-data", ["rts", "--split", "test", "--out", "d", "--threads", "1000"], "\(refused) 1000")
        try assertRefused(
            "stn-report", ["invariance", "--weights", "w.h5", "--out", "x.png", "--threads", "-1"], "\(refused) -1")
        try assertRefused(
            "stn-report", ["transformer", "--weights", "w.h5", "--out", "x.png", "--threads", "300"], "\(refused) 300")
    }

    /// NaN, infinite and out-of-range rates and factors are refused before any work.
    func testNonFiniteAndAbsurdTrainingValuesAreRefused() throws {
        for (option, value, message) in [
            ("--lr", "nan", "--lr must be a finite number > 0, got nan"),
            ("--lr", "inf", "--lr must be a finite number > 0, got inf"),
            ("--lr", "1e400", "--lr must be a finite number > 0, got inf"),
            ("--weight-decay", "-inf", "--weight-decay must be a finite number >= 0, got -inf"),
            ("--gamma", "0", "--gamma must be a finite number > 0, got 0.0"),
            ("--clip-norm", "nan", "--clip-norm must be a finite number >= 0, got nan"),
            ("--loc-lr-scale", "-1", "--loc-lr-scale must be a finite number >= 0, got -1.0"),
            ("--label-smoothing", "1", "--label-smoothing must be a finite number >= 0 and < 1, got 1.0"),
            ("--warmup-epochs", "1e300", "--warmup-epochs must be a finite number >= 0 and <= 10000, got 1e+300"),
            ("--step-size", "0", "--step-size must be at least 1, got 0"),
            ("--epochs", "0", "--epochs must be between 1 and 10000, got 0"),
            ("--epochs", "100000000000", "--epochs must be between 1 and 10000, got 100000000000"),
            ("--test-limit", "0", "--test-limit must be at least 1, got 0"),
        ] {
            try assertRefused("stn-train", [option, value, "--out", "w.h5"], message)
        }
    }

    // MARK: stn-infer

    /// Writes an idx file: `dims` big-endian after the 00 00 08 RANK magic, then `payload`.
    func writeIDX(_ dims: [Int], _ payload: [UInt8], to path: String) throws {
        var bytes: [UInt8] = [0, 0, 8, UInt8(dims.count)]
        for d in dims { bytes += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: d >> $0) } }
        try Data(bytes + payload).write(to: URL(fileURLWithPath: path))
    }

    /// Labels above 9 were counted in the accuracy, and more labels than images passed
    /// silently: both are refused, naming the labels file, the index and the value.
    func testInferRefusesLabelsOutsideTheModelsClassesAndCountMismatches() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let images = directory + "/images-idx3-ubyte"
        let labels = directory + "/labels-idx1-ubyte"
        let weights = FixturePaths.packageRoot.appendingPathComponent("Weights/st-cnn.h5").path
        try writeIDX([3, 28, 28], [UInt8](repeating: 0, count: 3 * 784), to: images)

        try writeIDX([3], [1, 12, 3], to: labels)
        try assertRefused(
            "stn-infer", [images, "--labels", labels, "--weights", weights],
            "\(labels): label 12 at index 1 is not one of the model's 10 classes (0-9)", status: 1)
        // Also when --limit leaves the bad label out: the file does not match the images.
        try assertRefused(
            "stn-infer", [images, "--labels", labels, "--weights", weights, "--limit", "1"],
            "\(labels): label 12 at index 1 is not one of the model's 10 classes (0-9)", status: 1)
        try writeIDX([4], [1, 2, 3, 4], to: labels)
        try assertRefused(
            "stn-infer", [images, "--labels", labels, "--weights", weights],
            "\(labels): 4 labels for 3 images (one label per image)", status: 1)

        try writeIDX([3], [1, 2, 9], to: labels)
        let outcome = try run("stn-infer", [images, "--labels", labels, "--weights", weights])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertTrue(outcome.stdout.contains("(") && outcome.stdout.contains("/3)"), outcome.stdout)
    }

    // MARK: stn-data

    /// `--out FILE` printed a raw Foundation error (NSCocoaErrorDomain Code=516).
    func testDataRefusesAnOutputThatIsAFile() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let file = directory + "/f"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: file))
        try assertRefused(
            "stn-data", ["rts", "--split", "test", "--count", "10", "--out", file],
            "\(file): exists and is not a directory (--out is the directory to write into)", status: 1)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: file)), Data([1, 2, 3]))
    }

    /// The data sets of several digits write 4-dimensional (addition) and 60 x 60 (cluttered)
    /// IDX pairs that `info` reads back; absurd sizes are refused before any work.
    func testDataWritesAdditionAndClutteredSets() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let environment = ["STN_DATA": try FixturePaths.mnistDirectory()]
        for (command, shape) in [("addition", "12 x 42 x 42 x 2"), ("cluttered", "12 x 60 x 60")] {
            let out = directory + "/" + command
            let made = try run("stn-data", [command, "--count", "12", "--out", out], environment: environment)
            XCTAssertEqual(made.status, 0, made.stderr)
            let info = try run("stn-data", ["info", out + "/images-idx3-ubyte"])
            XCTAssertEqual(info.status, 0, info.stderr)
            XCTAssertTrue(info.stdout.contains("idx3 images, \(shape),"), info.stdout)
            let labels = try run("stn-data", ["info", out + "/labels-idx1-ubyte"])
            XCTAssertTrue(labels.stdout.contains("idx1 labels, 12 items"), labels.stdout)
        }
        try assertRefused(
            "stn-data", ["addition", "--count", "400000", "--out", directory + "/big"],
            "--count 400000 would write more than the 1073741824 bytes an IDX file holds here: at most 304348 images of 3528 bytes"
        )
        try assertRefused(
            "stn-data", ["cluttered", "--pieces", "65", "--out", "d"], "--pieces must be between 0 and 64, got 65")
        try assertRefused(
            "stn-data", ["cluttered", "--canvas-size", "20", "--out", "d"],
            "--canvas-size must be between 28 and 512, got 20")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/big"))
    }

    // MARK: stn-train

    /// Two trainers with the same --out both ran and one overwrote the other's files; the
    /// second is now refused at once, naming the file, and leaves the first's files alone.
    func testTrainRefusesAnOutputAnotherTrainerIsWriting() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let out = directory + "/w.h5"
        let first = try OutputLock(for: out)
        defer { first.release() }
        try assertRefused(
            "stn-train", ["--model", "cnn", "--epochs", "1", "--limit", "64", "--out", out],
            "\(out): another process (pid \(getpid())) is writing this output and holds \(out).lock; wait for it or choose another output",
            status: 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["w.h5.lock"])
    }

    /// --lr 1e30 trapped (signal 4) in the checked build; both builds report the divergence.
    func testTrainReportsDivergenceInsteadOfTrapping() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let outcome = try run(
            "stn-train",
            [
                "--lr", "1e30", "--limit", "256", "--test-limit", "100", "--epochs", "1", "--quiet", "--out",
                directory + "/f.h5",
            ],
            environment: ["STN_DATA": try FixturePaths.mnistDirectory()])
        XCTAssertEqual(outcome.reason, .exit, "stn-train was killed by a signal: \(outcome.stderr)")
        XCTAssertEqual(outcome.status, 1)
        XCTAssertTrue(
            outcome.stderr.hasPrefix("stn-train: error: training diverged: the step at epoch 1, batch 1"),
            outcome.stderr)
        XCTAssertEqual(outcome.stderr.filter { $0 == "\n" }.count, 1, outcome.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
    }
}
