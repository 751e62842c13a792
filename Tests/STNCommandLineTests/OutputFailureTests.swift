import Foundation
import STNTestSupport
import XCTest

/// Standard output that cannot be written (a full disk; /dev/full fails every write with
/// ENOSPC) is a failure, not silent data loss: one line, `TOOL: error: stdout: No space left
/// on device`, exit 1. Before, every tool exited 0 having written nothing.
extension ToolTests {
    func assertOutputFailureReported(
        _ tool: String, _ arguments: [String], in directory: String? = nil, file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let outcome = try run(tool, arguments, in: directory, output: "/dev/full")
        XCTAssertEqual(outcome.reason, .exit, "\(tool) \(arguments) was killed by a signal", file: file, line: line)
        XCTAssertEqual(outcome.status, 1, "\(tool) \(arguments): \(outcome.stderr)", file: file, line: line)
        XCTAssertEqual(
            outcome.stderr, "\(tool): error: stdout: No space left on device\n", "\(tool) \(arguments)", file: file,
            line: line)
    }

    func testAFailedWriteToStandardOutputIsAnErrorInEveryTool() throws {
        guard FileManager.default.isWritableFile(atPath: "/dev/full") else { throw XCTSkip("no /dev/full") }
        let root = FixturePaths.packageRoot.path
        let samples = "Weights/samples/images-idx3-ubyte"
        // 100 answers: more than stdio's buffer, so a write fails while the tool runs.
        try assertOutputFailureReported("stn-infer", [samples, "--weights", Self.stCNN], in: root)
        // One answer: held in the buffer until the flush at the end, which fails.
        try assertOutputFailureReported("stn-infer", [samples, "--weights", Self.stCNN, "--limit", "1"], in: root)
        try assertOutputFailureReported("stn-infer", ["--help"])
        try assertOutputFailureReported("stn-data", ["info", samples], in: root)
        try assertOutputFailureReported("stn-convert", ["Weights/st-cnn.h5", "--summary"], in: root)
        try assertOutputFailureReported("stn-train", ["--summary"])
        try assertOutputFailureReported(
            "stn-bench", ["infer", "--weights", "Weights/st-cnn.h5", "--frames", "10", "--threads", "1"], in: root)
    }

    /// `stn-infer -` flushes every answer: the first one that cannot be written ends the stream.
    func testAStreamOnStandardInputStopsAtTheFirstAnswerThatCannotBeWritten() throws {
        guard FileManager.default.isWritableFile(atPath: "/dev/full") else { throw XCTSkip("no /dev/full") }
        let samples = FixturePaths.packageRoot.appendingPathComponent("Weights/samples/images-idx3-ubyte").path
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: samples)))
        let outcome = try run("stn-infer", ["-", "--weights", Self.stCNN], input: bytes, output: "/dev/full")
        XCTAssertEqual(outcome.reason, .exit)
        XCTAssertEqual(outcome.status, 1, outcome.stderr)
        XCTAssertEqual(outcome.stderr, "stn-infer: error: stdout: No space left on device\n")
    }

    /// A training run's progress goes through the same checked writes: the run stops at
    /// the first failed line, writes no weights, and says why.
    func testTrainingStopsWhenItsProgressCannotBeWritten() throws {
        guard FileManager.default.isWritableFile(atPath: "/dev/full") else { throw XCTSkip("no /dev/full") }
        let mnist = try FixturePaths.mnistDirectory()
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        try assertOutputFailureReported(
            "stn-train",
            [
                "--model", "pytorch-tutorial", "--distortion", "none", "--epochs", "1", "--limit", "64",
                "--test-limit", "64", "--batch-size", "32", "--threads", "1", "--data", mnist, "--out",
                directory + "/w.h5",
            ])
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/w.h5"))
    }
}
