import Foundation
import STNImage
import STNTestSupport
import XCTest

/// stn-infer's inputs beyond idx files: PNG and PGM written by Pillow
/// (tools/fixtures/make_image_fixtures.py), idx images with channels, --invert, --warped.
extension ToolTests {
    static let images = FixturePaths.packageRoot.appendingPathComponent("Tests/Fixtures/images").path
    static let stCNN = FixturePaths.packageRoot.appendingPathComponent("Weights/st-cnn.h5").path
    static let rgbModel = images + "/rgb-model.h5"

    /// Runs stn-infer and returns its output lines, failing on any error.
    func answers(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let outcome = try run("stn-infer", arguments)
        XCTAssertEqual(outcome.reason, .exit, file: file, line: line)
        XCTAssertEqual(outcome.status, 0, outcome.stderr, file: file, line: line)
        return outcome.stdout.split(separator: "\n").map(String.init)
    }

    /// A JSON answer line without its index, to compare images at different places.
    func withoutIndex(_ line: String) -> String {
        String(line.drop { $0 != "," })
    }

    /// The digit Pillow wrote as PNG and PGM (image 14 of the RTS digit fixture) gets the same
    /// answer as in the idx file, centred on the 42x42 canvas the same way; dark-on-light with
    /// --invert too.
    func testPNGAndPGMDigitsGetTheAnswerOfTheSameDigitInIDX() throws {
        let idx = FixturePaths.packageRoot.appendingPathComponent("Tests/Fixtures/rts-digits-idx3-ubyte.gz").path
        let common = ["--weights", Self.stCNN, "--format", "json"]
        let fromIDX = try answers([idx, "--limit", "15"] + common)
        let expected = fromIDX[14]
        XCTAssertTrue(expected.hasPrefix("{\"index\":14,\"digit\":"), expected)
        // Images 0-13 are another digit: the answer tells the images apart.
        XCTAssertNotEqual(withoutIndex(fromIDX[0]), withoutIndex(expected))
        let images = try answers(
            [Self.images + "/digit.png", Self.images + "/digit.pgm", Self.images + "/digit-dark-on-light.png"] + common)
        XCTAssertEqual(images.count, 3)
        XCTAssertEqual(images[0], "{\"index\":0" + withoutIndex(expected))
        XCTAssertEqual(images[1], "{\"index\":1" + withoutIndex(expected))
        XCTAssertNotEqual(withoutIndex(images[2]), withoutIndex(expected))
        let inverted = try answers([Self.images + "/digit-dark-on-light.png", "--invert"] + common)
        XCTAssertEqual(inverted, ["{\"index\":0" + withoutIndex(expected)])
    }

    /// Pixel (x, y) of rgb8.png.
    static func rgb8(_ x: Int, _ y: Int) -> [UInt8] {
        [(32 * x + 5 * y) % 256, (16 * y + 9 * x) % 256, (11 * x * y) % 256].map { UInt8($0) }
    }

    /// A 3-channel model gets a PNG's RGB exactly as an N x H x W x C idx file feeds it, and a
    /// grey PGM as R = G = B when --color rgb asks for it.
    func testAThreeChannelModelTakesRGBPNGAndFourDimensionalIDX() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let rgb = (0 ..< 8).flatMap { y in (0 ..< 8).flatMap { x in Self.rgb8(x, y) } }
        let grey = (0 ..< 64).map { UInt8($0 * 4) }
        try writeIDX([2, 8, 8, 3], rgb + grey.flatMap { [$0, $0, $0] }, to: directory + "/frames-idx")
        try Data(PGM.encode(width: 8, height: 8, gray: grey)).write(to: URL(fileURLWithPath: directory + "/grey.pgm"))
        let common = ["--weights", Self.rgbModel, "--format", "json"]
        let fromIDX = try answers([directory + "/frames-idx"] + common)
        XCTAssertEqual(fromIDX.count, 2)
        XCTAssertNotEqual(withoutIndex(fromIDX[0]), withoutIndex(fromIDX[1]))
        try Data(PNG.encode(width: 8, height: 8, gray: grey)).write(to: URL(fileURLWithPath: directory + "/grey.png"))
        for grey in ["grey.pgm", "grey.png"] {
            try assertRefused(
                "stn-infer", [Self.images + "/rgb8.png", directory + "/" + grey] + common,
                "\(directory)/\(grey): a grey image for a model of 3 channels: pass --color rgb to repeat grey in R, G and B",
                status: 1)
            XCTAssertEqual(
                try answers([Self.images + "/rgb8.png", directory + "/" + grey, "--color", "rgb"] + common), fromIDX)
        }
        // A grey model refuses four channels that are not colour.
        try writeIDX([1, 42, 42, 4], [UInt8](repeating: 0, count: 42 * 42 * 4), to: directory + "/four-idx")
        try assertRefused(
            "stn-infer", [directory + "/four-idx", "--weights", Self.stCNN],
            "\(directory)/four-idx: a 4-channel image (4 colour channels) cannot feed a model of 1 channel", status: 1)
    }

    /// --warped writes the transformer output as PNG: the RGB model's transformer is the
    /// identity, so it writes its input back.
    func testWarpedWritesEachTransformerOutputAsPNG() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests") + "/warped/deeper"
        let rgb = (0 ..< 8).flatMap { y in (0 ..< 8).flatMap { x in Self.rgb8(x, y) } }
        _ = try answers([Self.images + "/rgb8.png", "--weights", Self.rgbModel, "--warped", directory])
        let written = try ImageFile.read(directory + "/rgb8-0000.png")
        XCTAssertEqual([written.width, written.height, written.channels], [8, 8, 3])
        XCTAssertEqual(written.eightBitSamples, rgb)

        let idx = FixturePaths.packageRoot.appendingPathComponent("Tests/Fixtures/rts-digits-idx3-ubyte.gz").path
        _ = try answers([idx, "--limit", "3", "--weights", Self.stCNN, "--warped", directory])
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        XCTAssertEqual(
            names,
            [
                "rgb8-0000.png", "rts-digits-idx3-ubyte-0000.png", "rts-digits-idx3-ubyte-0001.png",
                "rts-digits-idx3-ubyte-0002.png",
            ])
        let digit = try ImageFile.read(directory + "/rts-digits-idx3-ubyte-0001.png")
        XCTAssertEqual([digit.width, digit.height, digit.channels], [42, 42, 1])
        XCTAssertGreaterThan(digit.samples.max() ?? 0, 100, "the warped digit has strokes")

        // --limit stops the images, and their files, after the first.
        let limited = try temporaryDirectory(for: self, prefix: "stn-tool-tests") + "/limited"
        _ = try answers([idx, Self.images + "/digit.png", "--limit", "1", "--weights", Self.stCNN, "--warped", limited])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: limited), ["rts-digits-idx3-ubyte-0000.png"])

        let cnn = FixturePaths.packageRoot.appendingPathComponent("Weights/cnn.h5").path
        try assertRefused(
            "stn-infer", [idx, "--weights", cnn, "--warped", directory],
            "--warped: the model in \(cnn) has no spatial transformer, so there is no transformer output to write",
            status: 1)
    }

    /// Every bad input is one line naming the file and the problem, exit 1, no trap, nothing on
    /// standard output.
    func testBadImagesAreOneLineNamingTheFile() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let png = try Data(contentsOf: URL(fileURLWithPath: Self.images + "/digit.png"))
        func file(_ name: String, _ bytes: Data) throws -> String {
            let path = directory + "/" + name
            try bytes.write(to: URL(fileURLWithPath: path))
            return path
        }
        let cases: [(String, String)] = [
            (
                try file("cut.png", png.prefix(100)),
                "corrupt or unsupported PNG: truncated: the file ends before the image does"
            ),
            (try file("text.png", Data("not an image".utf8)), "not a PNG, PGM (P5) or IDX file"),
            (try file("empty.png", Data()), "empty file"),
            (
                try file("maxval.pgm", Data("P5\n28 28\n1000\n".utf8) + Data(repeating: 0xFF, count: 2 * 784)),
                "pixel 0,0 is 65535, above the header's maxval 1000"
            ),
            (
                Self.images + "/grey8.png",
                "image is 5x3 (width x height), the model takes 42x42 (or 28x28, centred); pass --fit resize or --fit pad"
            ),
            (directory + "/missing.png", "cannot read file: no such file"),
        ]
        for (path, problem) in cases {
            try assertRefused("stn-infer", [path, "--weights", Self.stCNN], "\(path): \(problem)", status: 1)
        }
        try assertRefused(
            "stn-infer", ["-", Self.images + "/digit.png"], "- (standard input) cannot be mixed with files")
    }
}
