import XCTest

@testable import STNModel

/// A model description is untrusted input: every fault is one error naming the line or the
/// layer, never a trap.
final class DescriptionTests: XCTestCase {
    let header = "stn-model 1 name=t\ninput x 1x8x8\n"

    func error(_ text: String) -> String {
        do {
            _ = try Architecture(parsing: text)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func expect(_ body: String, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        let message = error(header + body)
        XCTAssertTrue(message.contains(fragment), "expected '\(fragment)' in: \(message)", file: file, line: line)
        XCTAssertFalse(message.contains("\n"), "more than one line: \(message)", file: file, line: line)
    }

    func testUnknownOperationNamesTheLine() {
        expect("frobnicate y x\n", "line 3: unknown operation 'frobnicate'")
    }

    func testMissingTensorNamesTheLayer() {
        expect("relu y nowhere\n", "layer 'y': reads 'nowhere', which no earlier layer writes")
    }

    func testShapeMismatches() {
        expect("linear y x out=3\n", "layer 'y': linear layer on a 1x8x8 map: flatten it first")
        expect("conv y x out=3 kernel=9\n", "kernel height 9 is larger than the padded input (8)")
        expect("flatten f x\naffine_grid g f size=8x8\n", "affine_grid reads 6 values (theta), 'f' has 64")
        expect("normalize y x mean=1,2 std=1\n", "normalize has 2 means and 1 deviations for 1 channels")
        expect("relu x x\n", "the tensor 'x' is written twice")
        expect("conv c x out=4 kernel=3\nadd y x,c\n", "add of 1x8x8 and 4x6x6: the shapes differ")
        expect("conv c x out=4 kernel=3\nconv y c out=6 kernel=3 groups=4\n", "groups=4 does not divide 4 input and 6")
        expect("maxpool y x kernel=2 padding=2\n", "pooling padding 2 is more than half the window 2")
        expect("clip y x min=2 max=1\n", "clip min=2.0 is above max=1.0")
    }

    func testAbsurdSizesAreBounded() {
        expect("conv y x out=999999 kernel=1\n", "out=999999 is not an integer in 1...4096")
        XCTAssertTrue(error("stn-model 1\ninput x 2x4096x4096\nrelu y x\n").contains("exceeds 16777216 values"))
        expect("conv y x out=3 kernel=1\nresize z y size=4096x4096\n", "layer 'z': output 3x4096x4096 exceeds")
        let many = (0 ..< ModelDescription.maximumLayers + 1).map { "relu r\($0) \($0 == 0 ? "x" : "r\($0 - 1)")" }
        expect(many.joined(separator: "\n"), "more than \(ModelDescription.maximumLayers) layers")
    }

    func testMalformedLines() {
        XCTAssertTrue(error("").contains("empty description"))
        XCTAssertTrue(error("stn-model 9\n").contains("format version 9"))
        XCTAssertTrue(error("hello\n").contains("expected the header"))
        XCTAssertTrue(error("stn-model 1\ninput x 1x8\n").contains("expected 3 dimensions"))
        expect("conv y x out=3 kernel=3 kernel=3\n", "'kernel' is given twice")
        expect("conv y x out=3 kernel=3 colour=red\n", "conv has no option 'colour'")
        expect("dropout y x p=1.5\n", "dropout p=1.5 is outside [0, 1)")
        expect("dropout y x p=nan\n", "p=nan is not a finite number")
        expect("grid_sample y x mode=cubic\n", "grid_sample mode 'cubic': expected bilinear or nearest")
        expect("grid_sample y x\n", "grid_sample reads 2 tensor(s), given 1")
        expect("relu y x,x\n", "relu reads 1 tensor(s), given 2")
        expect("relu bad\u{1}name x\n", "is not a valid name")
    }

    /// Every prefix of a valid description either reads or fails with one line.
    func testEveryTruncationOfAPresetIsOneLineOrValid() {
        let text = Architecture.stCNN.modelDescription.text
        let bytes = Array(text.utf8)
        for end in 0 ... bytes.count {
            let prefix = String(decoding: bytes[0 ..< end], as: UTF8.self)
            let message = error(prefix)
            XCTAssertFalse(message.contains("\n"), "\(end): \(message)")
        }
    }
}
