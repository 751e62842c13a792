import XCTest

@testable import STNModel

/// Version-2 descriptions (`stn-model 2`): dense tensors of rank 1 to 4 with fixed dims.
final class TensorDescriptionTests: XCTestCase {
    let gemm = """
        stn-model 2 name=gemm
        input a 3x5
        constant b - shape=5x4
        constant c - shape=1x4
        gemm y a,b,c trans_a=0 trans_b=0 alpha=0.5 beta=1.0

        """

    func error(_ text: String) -> String {
        do {
            _ = try Architecture(parsing: text)
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func testGemmShapesAndParameters() throws {
        let architecture = try Architecture(parsing: gemm)
        XCTAssertTrue(architecture.isGeneral)
        XCTAssertEqual(architecture.modelDescription.version, 2)
        XCTAssertEqual(architecture.tensorDims["y"], [3, 4])
        XCTAssertEqual(architecture.parameters.map(\.name), ["b.value", "c.value"])
        XCTAssertEqual(architecture.parameter("b.value")?.shape, [5, 4])
    }

    func testTextRoundTrip() throws {
        let text = """
            stn-model 2 name=every-op
            input x 2x3x8x8
            constant w - shape=4x3x3x3
            constant bias - shape=4
            conv c x,w,bias stride=2 pads=1,0,1,1 group=1
            maxpool p c kernel=2 stride=1 pads=0,0,1,1 ceil=1 count_include_pad=0
            avgpool q p kernel=3x2 stride=2 pads=1,1,1,1 ceil=0 count_include_pad=1
            global_avgpool g q
            reshape flat g shape=2x4
            softmax s flat axis=1
            constant k - shape=4
            mul m s,k
            relu r m
            resize big x size=16x12 scales=2.0,1.5 mode=linear coordinates=pytorch_half_pixel nearest=floor
            constant theta - shape=2x2x3
            affine_grid grid theta size=2x3x5x6 align_corners=1
            grid_sample out big,grid mode=nearest padding=border align_corners=0

            """
        let description = try ModelDescription(parsing: text)
        let architecture = try Architecture(description)
        XCTAssertEqual(architecture.tensorDims["c"], [2, 4, 4, 4])
        XCTAssertEqual(architecture.tensorDims["p"], [2, 4, 4, 4])
        XCTAssertEqual(architecture.tensorDims["q"], [2, 4, 2, 3])
        XCTAssertEqual(architecture.tensorDims["g"], [2, 4, 1, 1])
        XCTAssertEqual(architecture.tensorDims["m"], [2, 4])
        XCTAssertEqual(architecture.tensorDims["grid"], [2, 5, 6, 2])
        XCTAssertEqual(architecture.tensorDims["out"], [2, 3, 5, 6])
        let again = try ModelDescription(parsing: description.text)
        XCTAssertEqual(again, description)
        XCTAssertTrue(description.text.hasPrefix("stn-model 2 "))
    }

    func testVersionOneStillWritesVersionOne() throws {
        let text = "stn-model 1 name=t\ninput x 1x8x8\nrelu y x\n"
        let description = try ModelDescription(parsing: text)
        XCTAssertEqual(description.version, 1)
        XCTAssertNil(description.inputDims)
        XCTAssertTrue(description.text.hasPrefix("stn-model 1 "))
    }

    func testFaultsAreOneLine() {
        let header = "stn-model 2 name=t\ninput x 3x4x5\n"
        let cases: [(String, String)] = [
            ("frobnicate y x\n", "unknown version-2 operation 'frobnicate'"),
            ("conv y x\n", "conv reads 2 to 3 tensor(s), given 1"),
            ("constant k - shape=4096x4096x4096\n", "exceeds"),
            ("constant k - shape=1x1x1x1x1\n", "expected 1 to 4 dimensions"),
            ("constant k - shape=7\nadd y x,k\n", "do not broadcast"),
            ("softmax y x axis=3\n", "axis 3"),
            ("reshape y x shape=7x9\n", "reshape of [3, 4, 5] to [7, 9]"),
            ("relu y z\n", "which no earlier layer writes"),
            ("relu y y\n", "which no earlier layer writes"),
            ("linear y x out=3\n", "unknown version-2 operation 'linear'"),
            ("maxpool y x kernel=2\n", "reads [N, C, H, W]"),
        ]
        for (body, fragment) in cases {
            let message = error(header + body)
            XCTAssertTrue(message.contains(fragment), "expected '\(fragment)' in: \(message)")
            XCTAssertFalse(message.contains("\n"), message)
        }
        XCTAssertTrue(error("stn-model 2\ninput x 0x4\nrelu y x\n").contains("input=0"))
        XCTAssertTrue(error("stn-model 1\ninput x 1x4x4\ngemm y x,x\n").contains("unknown operation 'gemm'"))
    }
}
