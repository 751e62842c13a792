import Foundation
import STNTestSupport
import XCTest

/// A pipe or FIFO named as an input file (`cat images | stn-infer /dev/stdin`,
/// `stn-infer <(cat digit.png)`, a named pipe) is opened once and read as one stream. It lost
/// its first 8 bytes before: telling PNG from IDX opened the file and read them, then the
/// reader opened it again ("unsupported IDX element type 00", "not a PNG or PGM").
extension ToolTests {
    func fileBytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Writes `bytes` into the FIFO at `path` from another thread once a reader has opened
    /// it, giving up after `timeout` seconds without one (a tool that failed before opening).
    func feed(_ path: String, _ bytes: [UInt8], timeout: TimeInterval = 60) {
        signal(SIGPIPE, SIG_IGN)
        Thread.detachNewThread {
            let deadline = Date().addingTimeInterval(timeout)
            var descriptor: Int32 = -1
            // O_NONBLOCK: ENXIO until a reader is there, instead of blocking forever.
            while descriptor < 0 && Date() < deadline {
                descriptor = open(path, O_WRONLY | O_NONBLOCK)
                if descriptor < 0 { usleep(2_000) }
            }
            guard descriptor >= 0 else { return }
            _ = fcntl(descriptor, F_SETFL, 0)  // blocking writes from here
            var sent = 0
            while sent < bytes.count {
                let n = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + sent, $0.count - sent) }
                if n <= 0 { break }
                sent += n
            }
            close(descriptor)
        }
    }

    func testAPipeNamedAsAFileGivesTheAnswersOfTheFile() throws {
        let root = FixturePaths.packageRoot.path
        let samples = root + "/Weights/samples/images-idx3-ubyte"
        let expected = try answers([samples, "--weights", Self.stCNN])
        XCTAssertEqual(expected.count, 100)
        // Standard input is a pipe here: /dev/stdin names it.
        let piped = try run(
            "stn-infer", ["/dev/stdin", "--weights", Self.stCNN], timeout: 60, input: fileBytes(samples))
        XCTAssertEqual(piped.reason, .exit)
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertEqual(piped.stdout.split(separator: "\n").map(String.init), expected)
        let png = Self.images + "/digit.png"
        let pngPiped = try run(
            "stn-infer", ["/dev/stdin", "--weights", Self.stCNN], timeout: 60, input: fileBytes(png))
        XCTAssertEqual(pngPiped.status, 0, pngPiped.stderr)
        XCTAssertEqual(
            pngPiped.stdout.split(separator: "\n").map(String.init), try answers([png, "--weights", Self.stCNN]))
    }

    /// Named pipes (mkfifo), PNG and gzip IDX, beside a regular file in one command: each is
    /// read once, and the command ends (before, the second open waited for a writer forever).
    func testFIFOsNamedAsFilesAreReadOnceWithoutHanging() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let png = Self.images + "/digit.png"
        let gzipped = FixturePaths.packageRoot.appendingPathComponent("Tests/Fixtures/rts-digits-idx3-ubyte.gz").path
        let arguments = ["--weights", Self.stCNN, "--format", "json"]
        let expected = try answers([png, gzipped, png] + arguments)
        XCTAssertGreaterThan(expected.count, 2)
        let pngFIFO = directory + "/digit-fifo"
        let idxFIFO = directory + "/idx-fifo"
        XCTAssertEqual(mkfifo(pngFIFO, 0o600), 0)
        XCTAssertEqual(mkfifo(idxFIFO, 0o600), 0)
        feed(pngFIFO, try fileBytes(png))
        feed(idxFIFO, try fileBytes(gzipped))
        let outcome = try run("stn-infer", [pngFIFO, idxFIFO, png] + arguments, timeout: 60)
        XCTAssertEqual(outcome.reason, .exit, "stn-infer was killed (hung on a FIFO?)")
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertEqual(outcome.stdout.split(separator: "\n").map(String.init), expected)
    }

    /// A stream that is not an image says so from the bytes it sent, naming the pipe.
    func testAPipeOfNeitherImageNorIDXIsRefusedByItsContent() throws {
        let outcome = try run(
            "stn-infer", ["/dev/stdin", "--weights", Self.stCNN], timeout: 60, input: Array("hello, world\n".utf8))
        XCTAssertEqual(outcome.status, 1)
        XCTAssertEqual(outcome.stderr, "stn-infer: error: /dev/stdin: not a PNG, PGM (P5) or IDX file\n")
        let short = try run("stn-infer", ["/dev/stdin", "--weights", Self.stCNN], timeout: 60, input: [0x89, 0x50])
        XCTAssertEqual(short.status, 1)
        XCTAssertTrue(short.stderr.hasPrefix("stn-infer: error: /dev/stdin: "), short.stderr)
    }
}
