import Foundation
import STNTestSupport
import XCTest

/// stn-infer's work is bounded by the headers and by --limit (issue 26): an image's size is
/// refused from its header, and an idx file is read a batch at a time, answers first, so
/// --limit reads no further and a large gzip file answers while the rest is still inflated.
extension ToolTests {
    /// `bytes` gzip-compressed by /bin/gzip (the test does not depend on the code it checks).
    func gzipped(_ bytes: [UInt8]) throws -> Data {
        let zip = Process()
        zip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        zip.arguments = ["-c"]
        let into = Pipe()
        let out = Pipe()
        zip.standardInput = into
        zip.standardOutput = out
        try zip.run()
        into.fileHandleForWriting.write(Data(bytes))
        into.fileHandleForWriting.closeFile()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        zip.waitUntilExit()
        return data
    }

    func idxHeader(_ dims: [Int]) -> [UInt8] {
        [0, 0, 8, UInt8(dims.count)] + dims.flatMap { d in [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: d >> $0) } }
    }

    /// A gzip idx file whose header declares 600,000 images but holds 3: --limit 3 answers
    /// three and reads nothing more (a full read refused the file, after inflating all of it
    /// when the images were there); without --limit the three answers come before the error.
    func testLimitBoundsTheWorkAndAnswersComeBeforeTheRestIsRead() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let path = directory + "/many-idx3-ubyte.gz"
        let images: [UInt8] = (0 ..< 3 * 784).map { (i: Int) -> UInt8 in UInt8((i * 37 + i / 784 * 11) % 256) }
        try gzipped(idxHeader([600_000, 28, 28]) + images).write(to: URL(fileURLWithPath: path))
        let weights = ["--weights", Self.stCNN]

        let limited = try run("stn-infer", [path, "--limit", "3", "--format", "json"] + weights)
        XCTAssertEqual(limited.status, 0, limited.stderr)
        XCTAssertEqual(limited.stdout.split(separator: "\n").count, 3)

        let full = try run("stn-infer", [path, "--format", "json"] + weights)
        XCTAssertEqual(full.status, 1)
        XCTAssertEqual(full.stdout.split(separator: "\n").count, 3, "the answers before the error")
        XCTAssertEqual(
            full.stderr,
            "stn-infer: error: \(path): truncated: header declares \(600_000 * 784) data bytes but only \(3 * 784) follow\n"
        )
        // The same images in a file that says 3: the same answers, and the file checked to its end.
        let exact = directory + "/three-idx3-ubyte.gz"
        try gzipped(idxHeader([3, 28, 28]) + images + [0]).write(to: URL(fileURLWithPath: exact))
        try assertRefused(
            "stn-infer", [exact] + weights,
            "\(exact): 1 unexpected trailing bytes after the 2352 data bytes the header declares",
            status: 1)
        try gzipped(idxHeader([3, 28, 28]) + images).write(to: URL(fileURLWithPath: exact))
        XCTAssertEqual(
            try answers([exact, "--format", "json"] + weights), limited.stdout.split(separator: "\n").map(String.init))
    }

    /// A raw idx file's length is checked against its header before the first answer, as before.
    func testRawIDXLengthIsStillCheckedBeforeAnyAnswer() throws {
        let path = try temporaryDirectory(for: self, prefix: "stn-tool-tests") + "/short-idx3-ubyte"
        try Data(idxHeader([5, 28, 28]) + [UInt8](repeating: 9, count: 3 * 784)).write(to: URL(fileURLWithPath: path))
        let outcome = try run("stn-infer", [path, "--weights", Self.stCNN])
        XCTAssertEqual(outcome.status, 1)
        XCTAssertEqual(outcome.stdout, "")
        XCTAssertTrue(outcome.stderr.contains("truncated: header declares 3920 data bytes but only 2352 follow"))
    }

    /// An image too large for the model is refused from its header: an 8192 x 8192 16-bit
    /// RGBA PNG whose pixels are not even there gets the size message, not libpng's.
    func testOversizedPNGIsRefusedFromItsHeader() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        // Signature, IHDR (13 bytes: 8192 x 8192, 16 bits, RGBA) with its CRC, an IDAT of 3 bytes, IEND.
        let ihdr: [UInt8] = [0, 0, 0x20, 0, 0, 0, 0x20, 0, 16, 6, 0, 0, 0]
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += [0, 0, 0, 13] + Array("IHDR".utf8) + ihdr + [0, 0, 0, 0]
        png += [0, 0, 0, 3] + Array("IDAT".utf8) + [1, 2, 3] + [0, 0, 0, 0]
        png += [0, 0, 0, 0] + Array("IEND".utf8) + [0xAE, 0x42, 0x60, 0x82]
        let path = directory + "/big.png"
        try Data(png).write(to: URL(fileURLWithPath: path))
        try assertRefused(
            "stn-infer", [path, "--weights", Self.stCNN],
            "\(path): image is 8192x8192 (width x height), the model takes 42x42 (or 28x28, centred); pass --fit resize or --fit pad",
            status: 1)
    }
}
