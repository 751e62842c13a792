import STNCommandLine
import STNTestSupport
import XCTest

/// The scan that lets the common command lines start without swift-argument-parser's parse
/// (`CommonArguments`), and stn-infer giving the same answers and errors on that path as on
/// the full parser's.
final class CommonArgumentsTests: XCTestCase {
    let known: [CommonArguments.Option] = [.value("weights"), .value("limit"), .flag("invert")]

    func testItScansPositionalsValuesAndFlagsInAnyOrder() {
        let scanned = CommonArguments(["a.idx", "--weights", "w.h5", "-", "--invert", "b.png"], options: known)
        XCTAssertEqual(scanned?.positionals, ["a.idx", "-", "b.png"])
        XCTAssertEqual(scanned?.values, ["w.h5", nil, ""])
        XCTAssertEqual(scanned?.value("weights"), "w.h5")
        XCTAssertEqual(scanned?.value("invert"), "")
        XCTAssertNil(scanned?.value("limit"))
        XCTAssertEqual(CommonArguments(["--limit", "12"], options: known)?.value("limit"), "12")
    }

    /// Everything outside the subset goes to the full parser (nil), which reports errors.
    func testAnythingElseIsLeftToTheFullParser() {
        for arguments in [
            ["a.idx", "--help"], ["-h"], ["a.idx", "--weights=w.h5"], ["a.idx", "--weights"],
            ["a.idx", "--weights", "--invert"], ["a.idx", "--weights", "a", "--weights", "b"],
            ["a.idx", "--invert", "--invert"], ["a.idx", "--unknown"], ["a.idx", "--"], ["a.idx", "-x"],
            ["a.idx", "--limit", "-1"],
        ] {
            XCTAssertNil(CommonArguments(arguments, options: known), "\(arguments)")
        }
    }
}

extension ToolTests {
    /// Each command line runs once as given (the scanned path where it qualifies) and once
    /// with `--explain-count 8` added, a default value that only the full parser accepts:
    /// output, errors and exit status are the same.
    func testStnInferAnswersTheSameOnTheScannedPathAsThroughTheFullParser() throws {
        let samples = FixturePaths.packageRoot.appendingPathComponent("Weights/samples").path
        let images = samples + "/images-idx3-ubyte"
        let labels = samples + "/labels-idx1-ubyte"
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let cases: [[String]] = [
            [images, "--limit", "3", "--weights", Self.stCNN],
            [images, "--labels", labels, "--format", "json", "--limit", "40", "--threads", "2"],
            [Self.images + "/digit.png", Self.images + "/digit-dark-on-light.png", "--invert", "--format", "csv"],
            [images, "--weights", directory + "/missing.h5"],
            [directory + "/missing-idx3-ubyte"],
            [images, "--labels", images],
            [images, "--limit", "0"],
            [images, "--format", "yaml"],
            [images, "--threads", "many"],
        ]
        for arguments in cases {
            let scanned = try run("stn-infer", arguments)
            let parsed = try run("stn-infer", arguments + ["--explain-count", "8"])
            XCTAssertEqual(scanned.status, parsed.status, "\(arguments)")
            XCTAssertEqual(scanned.stdout, parsed.stdout, "\(arguments)")
            XCTAssertEqual(scanned.stderr, parsed.stderr, "\(arguments)")
            XCTAssertFalse((scanned.status == 0 ? scanned.stdout : scanned.stderr).isEmpty, "\(arguments)")
        }
    }
}

extension ToolTests {
    /// `TOOL --help` alone prints the parser's help text without the parse; the parse's own
    /// answer to a help request (`--help --help`, or `help` for the tools with subcommands)
    /// is the same text.
    func testHelpAloneIsTheTextTheParserPrints() throws {
        let parsedForms: [(tool: String, arguments: [String])] = [
            ("stn-infer", ["--help", "--help"]), ("stn-train", ["--help", "--help"]),
            ("stn-convert", ["--help", "--help"]), ("stn-report", ["--help", "--help"]),
            ("stn-data", ["help"]), ("stn-bench", ["help"]),
        ]
        for (tool, arguments) in parsedForms {
            for short in ["--help", "-h"] {
                let fast = try run(tool, [short])
                let parsed = try run(tool, arguments)
                XCTAssertEqual(fast.status, 0, "\(tool) \(short)")
                XCTAssertEqual(parsed.status, 0, "\(tool) \(arguments)")
                XCTAssertTrue(fast.stdout.contains("USAGE:"), "\(tool) \(short)")
                XCTAssertEqual(fast.stdout, parsed.stdout, "\(tool) \(short) against \(arguments)")
                XCTAssertEqual(fast.stderr, "", "\(tool) \(short)")
            }
        }
    }
}
