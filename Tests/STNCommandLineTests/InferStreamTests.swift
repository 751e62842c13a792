import Foundation
import STNTestSupport
import XCTest

/// `stn-infer -` in lock-step, as a capture loop drives it: image k + 1 is written only
/// after answer k has been read, every read under a timeout, so an answer held in a buffer
/// fails the test instead of hanging it.
final class InferStreamTests: XCTestCase {
    static let weights = FixturePaths.packageRoot.appendingPathComponent("Weights/st-cnn.h5").path
    /// Seconds any one answer may take (a loaded machine; an answer takes milliseconds).
    static let timeout: Int32 = 60_000

    /// A running stn-infer with pipes on its standard input and output.
    final class Session {
        let process = Process()
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        var pending: [UInt8] = []

        init(_ arguments: [String]) throws {
            let executable = ToolTests.buildDirectory.appendingPathComponent("stn-infer")
            guard FileManager.default.isExecutableFile(atPath: executable.path) else {
                throw XCTSkip("\(executable.path) is not built")
            }
            process.executableURL = executable
            process.arguments = arguments
            process.standardInput = input
            process.standardOutput = output
            process.standardError = errors
            signal(SIGPIPE, SIG_IGN)
            try process.run()
        }

        /// Writes to the tool's standard input; a tool that has exited fails the test's later
        /// checks rather than killing it with SIGPIPE.
        func send(_ bytes: [UInt8]) {
            let descriptor = input.fileHandleForWriting.fileDescriptor
            var sent = 0
            while sent < bytes.count {
                let n = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + sent, $0.count - sent) }
                if n <= 0 { return }
                sent += n
            }
        }

        /// The next line of output, or nil if none arrives within the timeout (or at the end).
        func line() -> String? {
            let descriptor = output.fileHandleForReading.fileDescriptor
            while true {
                if let newline = pending.firstIndex(of: 10) {
                    let line = String(decoding: pending[..<newline], as: UTF8.self)
                    pending.removeFirst(newline + 1)
                    return line
                }
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, InferStreamTests.timeout) == 1 else { return nil }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                guard n > 0 else { return nil }
                pending += chunk[..<n]
            }
        }

        /// Closes standard input and waits for the exit (killing the process after the timeout).
        func finish() -> (status: Int32, stderr: String) {
            input.fileHandleForWriting.closeFile()
            let deadline = Date().addingTimeInterval(Double(InferStreamTests.timeout) / 1000)
            while process.isRunning && Date() < deadline { usleep(5_000) }
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            return (process.terminationReason == .exit ? process.terminationStatus : -1, stderr)
        }
    }

    func header(_ dims: [Int]) -> [UInt8] {
        [0, 0, 8, UInt8(dims.count)] + dims.flatMap { d in [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: d >> $0) } }
    }

    /// Four different digits of the RTS digit fixture (28x28, centred by stn-infer); it holds
    /// each digit 14 times.
    func digits(_ count: Int) throws -> [[UInt8]] {
        let path = FixturePaths.packageRoot.appendingPathComponent("Tests/Fixtures/rts-digits-idx3-ubyte.gz").path
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        // Decompressed by gunzip: the test does not depend on the decoder it checks.
        let unzip = Process()
        unzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        unzip.arguments = ["-dc"]
        let into = Pipe()
        let out = Pipe()
        unzip.standardInput = into
        unzip.standardOutput = out
        try unzip.run()
        into.fileHandleForWriting.write(raw)
        into.fileHandleForWriting.closeFile()
        let bytes = [UInt8](out.fileHandleForReading.readDataToEndOfFile())
        unzip.waitUntilExit()
        return (0 ..< count).map { i in Array(bytes[16 + i * 14 * 784 ..< 16 + (i * 14 + 1) * 784]) }
    }

    func testEachAnswerArrivesBeforeTheNextImageIsWritten() throws {
        for format in ["text", "json"] {
            let images = try digits(4)
            let session = try Session(["-", "--weights", Self.weights, "--format", format])
            session.send(header([0, 28, 28]))
            var answers: [String] = []
            for (k, image) in images.enumerated() {
                session.send(image)
                guard let answer = session.line() else {
                    let (_, stderr) = session.finish()
                    return XCTFail("\(format): no answer to image \(k) within the timeout: \(stderr)")
                }
                answers.append(answer)
            }
            let (status, stderr) = session.finish()
            XCTAssertEqual(status, 0, stderr)
            XCTAssertEqual(stderr, "")
            XCTAssertNil(session.line(), "nothing after the last answer")

            // The same answers as for the images in a file.
            let directory = NSTemporaryDirectory() + "stn-stream-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try Data(header([4, 28, 28]) + images.joined()).write(to: URL(fileURLWithPath: directory + "/idx"))
            let batch = try Session([directory + "/idx", "--weights", Self.weights, "--format", format])
            let expected = (0 ..< 4).compactMap { _ in batch.line() }
            XCTAssertEqual(batch.finish().status, 0)
            XCTAssertEqual(answers, expected, format)
            // Without the index: four digits, four answers.
            let unindexed = answers.map {
                format == "json" ? String($0.drop { $0 != "," }) : String($0.drop { $0 == " " }.drop { $0 != " " })
            }
            XCTAssertEqual(Set(unindexed).count, 4, "\(answers)")
        }
    }

    /// A stream that breaks off inside an image: the answers so far, then one line naming
    /// standard input, exit 1.
    func testAStreamCutInsideAnImageIsRefusedAfterTheAnswersSoFar() throws {
        let images = try digits(2)
        let session = try Session(["-", "--weights", Self.weights])
        session.send(header([3, 28, 28]) + images[0])
        XCTAssertNotNil(session.line())
        session.send(images[1] + [1, 2, 3])
        XCTAssertNotNil(session.line())
        let (status, stderr) = session.finish()
        XCTAssertEqual(status, 1)
        XCTAssertEqual(
            stderr,
            "stn-infer: error: standard input: truncated: header declares 2352 data bytes but only 1571 follow\n")
    }

    func testAStreamOfTheWrongSizeIsRefusedFromItsHeader() throws {
        let session = try Session(["-", "--weights", Self.weights])
        session.send(header([0, 30, 30]))
        // Refused before any image is written.
        let (status, stderr) = session.finish()
        XCTAssertEqual(status, 1)
        XCTAssertEqual(
            stderr,
            "stn-infer: error: standard input: image is 30x30 (width x height), the model takes 42x42 (or 28x28, centred); pass --fit resize or --fit pad\n"
        )
    }
}
