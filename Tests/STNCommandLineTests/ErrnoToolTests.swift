import Foundation
import STNTestSupport
import XCTest

/// Each failure names its own errno: a name too long, a place that refuses new files and a
/// symbolic-link loop all read "No such file or directory" (or "does not exist") before.
extension ToolTests {
    func testFailuresNameTheirOwnErrno() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let root = FixturePaths.packageRoot.path
        let long = directory + "/" + String(repeating: "a", count: 300) + ".onnx"
        try assertRefused(
            "stn-convert", ["Weights/st-cnn.h5", "--out", long], "\(long): cannot write: File name too long", status: 1,
            in: root)
        let loop = directory + "/loop"
        XCTAssertEqual(symlink(directory + "/other", loop), 0)
        XCTAssertEqual(symlink(loop, directory + "/other"), 0)
        try assertRefused(
            "stn-infer", [loop, "--weights", Self.stCNN],
            "\(loop): cannot read file: Too many levels of symbolic links",
            status: 1)
        try assertRefused(
            "stn-infer", [Self.images + "/digit.png", "--weights", loop],
            "\(loop): cannot read file: Too many levels of symbolic links", status: 1)
        try assertRefused(
            "stn-train", ["--out", loop + "/w.h5"],
            "\(loop)/w.h5: directory '\(loop)': Too many levels of symbolic links", status: 1)
        try assertRefused(
            "stn-train", ["--out", directory + "/w.h5", "--data", loop],
            "\(loop): MNIST directory (from --data): Too many levels of symbolic links", status: 1)
        // sysfs refuses new directories even to root; the tool reports what mkdir said.
        guard mkdir("/sys/kernel/stn-warped", 0o755) != 0 else { throw XCTSkip("/sys/kernel is writable here") }
        let refusal = String(cString: strerror(errno))
        try assertRefused(
            "stn-infer", [Self.images + "/digit.png", "--weights", Self.stCNN, "--warped", "/sys/kernel/stn-warped"],
            "--warped: /sys/kernel/stn-warped: cannot create directory: \(refusal)", status: 1)
    }
}
