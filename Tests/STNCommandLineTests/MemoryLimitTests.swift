import Foundation
import STNTestSupport
import XCTest

/// Memory is estimated before it is allocated (issue 26): a model too large for --max-memory
/// (or for the machine) is refused in one line with the estimate, before any data is read.
extension ToolTests {
    func testTrainAndInferRefuseAModelBeyondMaxMemory() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let description = directory + "/large.txt"
        // Within the documented bounds: 168 M parameters after a resize to 4096 x 4096.
        try """
        stn-model 1 name=large
        input image 1x28x28
        resize big image size=4096x4096
        flatten flat big
        linear fc flat out=10
        log_softmax out fc
        """.write(toFile: description, atomically: true, encoding: .utf8)
        let train = try run(
            "stn-train",
            ["--architecture", description, "--out", directory + "/w.h5", "--threads", "2", "--max-memory", "2G"],
            in: directory)
        XCTAssertEqual(train.status, 1, train.stderr)
        XCTAssertTrue(
            train.stderr.hasPrefix("stn-train: error: \(description): the model needs about "), train.stderr)
        XCTAssertTrue(train.stderr.hasSuffix(" GB; 2.1 GB is available (--max-memory)\n"), train.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/w.h5"))

        let infer = try run("stn-infer", [Self.images + "/digit.png", "--weights", Self.stCNN, "--max-memory", "64K"])
        XCTAssertEqual(infer.status, 1, infer.stderr)
        XCTAssertTrue(infer.stderr.hasPrefix("stn-infer: error: \(Self.stCNN): the model needs about 1."), infer.stderr)
        XCTAssertTrue(infer.stderr.hasSuffix(" MB; 65.5 KB is available (--max-memory)\n"), infer.stderr)
        try assertRefused(
            "stn-infer", [Self.images + "/digit.png", "--max-memory", "lots"],
            "--max-memory 'lots' is not a size (bytes, or a number with K, M, G or T)", status: 1)
    }
}
