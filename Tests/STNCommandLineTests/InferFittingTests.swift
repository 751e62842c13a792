import Foundation
import STNImage
import STNTestSupport
import XCTest

/// stn-infer fits images to the model as stn-train does (`--fit`, `--color`): another size or
/// another colour layout is refused unless asked for, and the asked-for frame is the one the
/// trainer makes.
extension ToolTests {
    /// A 28x28 model (R-MNIST's ST-CNN).
    static let digitModel = FixturePaths.packageRoot.appendingPathComponent("Weights/table1/r/st-cnn-affine.h5").path

    /// The 28x28 digit of `digit.png`, as samples.
    func digitSamples() throws -> [UInt8] {
        let image = try ImageFile.read(Self.images + "/digit.png")
        XCTAssertEqual([image.width, image.height, image.channels], [28, 28, 1])
        return image.eightBitSamples
    }

    func writePNG(_ directory: String, _ name: String, side: Int, grey: [UInt8]) throws -> String {
        let path = directory + "/" + name
        try Data(PNG.encode(width: side, height: side, gray: grey)).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The digit doubled to 56x56 (each pixel a 2x2 block) resizes back to itself exactly
    /// (bilinear halfway between equal pixels); a 24x24 centre cut pads back to the digit with
    /// a black border. Without --fit both are refused, naming the image and both sizes.
    func testFitResizeAndPadGiveTheDigitsFrame() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let digit = try digitSamples()
        let doubled = (0 ..< 56 * 56).map { (i: Int) -> UInt8 in
            let (y, x) = (i / 56, i % 56)
            return digit[(y / 2) * 28 + x / 2]
        }
        let big = try writePNG(directory, "big.png", side: 56, grey: doubled)
        let common = ["--weights", Self.digitModel, "--format", "json"]
        let expected = try answers([Self.images + "/digit.png"] + common)
        XCTAssertEqual(try answers([big, "--fit", "resize"] + common), expected)
        try assertRefused(
            "stn-infer", [big] + common,
            "\(big): image is 56x56 (width x height), the model takes 28x28; pass --fit resize or --fit pad", status: 1)
        try assertRefused(
            "stn-infer", [big, "--fit", "pad"] + common,
            "\(big): image is 56x56 (width x height), larger than the model's 28x28: --fit pad only adds borders; pass --fit resize",
            status: 1)

        let cut = (0 ..< 24 * 24).map { (i: Int) -> UInt8 in
            let (y, x) = (i / 24 + 2, i % 24 + 2)
            return digit[y * 28 + x]
        }
        let bordered = (0 ..< 28 * 28).map { i -> UInt8 in
            let (y, x) = (i / 28, i % 28)
            return (2 ..< 26).contains(y) && (2 ..< 26).contains(x) ? digit[i] : 0
        }
        let small = try writePNG(directory, "small.png", side: 24, grey: cut)
        let framed = try writePNG(directory, "framed.png", side: 28, grey: bordered)
        XCTAssertEqual(try answers([small, "--fit", "pad"] + common), try answers([framed] + common))
        // A 42x42 model still centres a 28x28 digit without --fit, and --fit resize scales it instead.
        let centred = try answers([Self.images + "/digit.png", "--weights", Self.stCNN])
        let resized = try answers([Self.images + "/digit.png", "--weights", Self.stCNN, "--fit", "resize"])
        XCTAssertNotEqual(centred, resized)
        try assertRefused(
            "stn-infer", [big, "--fit", "stretch"], "--fit must be refuse, pad or resize, not 'stretch'")
    }

    /// RGB for a grey model needs --color grey (luminance: an RGB digit with R = G = B is the
    /// grey digit); --color rgb for a grey model is refused.
    func testRGBIntoAGreyModelNeedsColorGrey() throws {
        let directory = try temporaryDirectory(for: self, prefix: "stn-tool-tests")
        let digit = try digitSamples()
        let path = directory + "/rgb-digit.png"
        try Data(PNG.encode(width: 28, height: 28, rgb: digit.flatMap { [$0, $0, $0] })).write(
            to: URL(fileURLWithPath: path))
        let common = ["--weights", Self.stCNN, "--format", "json"]
        try assertRefused(
            "stn-infer", [path] + common,
            "\(path): an RGB image for a 1-channel model: pass --color grey to convert it by luminance", status: 1)
        XCTAssertEqual(
            try answers([path, "--color", "grey"] + common), try answers([Self.images + "/digit.png"] + common))
        try assertRefused(
            "stn-infer", [path, "--color", "rgb"] + common,
            "--color rgb makes 3-channel frames, the model takes 1 channel", status: 1)
    }
}
