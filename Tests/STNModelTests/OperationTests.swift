import XCTest

@testable import STNModel

/// The operations beyond the seed's layers: their text form reads back to the same
/// description, and their shapes and parameters follow PyTorch's modules.
final class OperationTests: XCTestCase {
    static let text = """
        stn-model 1 name=ops
        input image 3x11x12
        conv c0 image out=8 kernel=3 padding=1
        elu e0 c0 alpha=0.5
        conv dw e0 out=8 kernel=3 padding=2 dilation=2 groups=8 bias=0
        prelu pr dw per_channel=1
        add res pr,e0
        maxpool mp res kernel=3 stride=2 padding=1 ceil=1
        avgpool ap mp kernel=3 stride=2 padding=1 count_include_pad=0
        leaky_relu lr ap slope=0.2
        tanh th lr
        sigmoid sg th
        silu si sg
        clip cl si min=-0.5 max=0.75
        relu6 r6 cl
        hardsigmoid hs r6 alpha=0.25 beta=0.5
        hardswish hw hs
        gelu ge hw
        batchnorm bn ge
        global_avgpool ga bn
        global_maxpool gm ap
        add both ga,gm
        prelu p1 both
        linear o p1 out=5
        log_softmax out o
        """

    func testTextReadsBackToTheSameDescription() throws {
        let description = try ModelDescription(parsing: Self.text)
        XCTAssertEqual(try ModelDescription(parsing: description.text), description)
        // relu6 is written as the clip it is.
        XCTAssertTrue(description.text.contains("clip r6 cl min=0.0 max=6.0"))
    }

    func testShapesFollowPyTorch() throws {
        let architecture = try Architecture(parsing: Self.text)
        func shape(_ name: String) -> String { "\(architecture.shapes[name]!)" }
        // Dilation 2 spans 5 taps: (11 + 4 - 5) / 1 + 1 = 11.
        XCTAssertEqual(shape("dw"), "8x11x12")
        // Ceil mode: ceil((11 + 2 - 3) / 2) + 1 = 6 rows and ceil((12 + 2 - 3) / 2) + 1 = 7 columns.
        XCTAssertEqual(shape("mp"), "8x6x7")
        XCTAssertEqual(shape("ap"), "8x3x4")
        XCTAssertEqual(shape("ga"), "8")
        XCTAssertEqual(shape("gm"), "8")
        XCTAssertEqual(shape("out"), "5")
    }

    func testParametersAreTheModulesStateDict() throws {
        let architecture = try Architecture(parsing: Self.text)
        XCTAssertEqual(architecture.parameter("dw.weight")?.shape, [8, 1, 3, 3])
        XCTAssertNil(architecture.parameter("dw.bias"))
        XCTAssertEqual(architecture.parameter("dw.weight")?.fanIn, 9)
        XCTAssertEqual(architecture.parameter("pr.weight")?.shape, [8])
        XCTAssertEqual(architecture.parameter("pr.weight")?.role, .slope)
        XCTAssertEqual(architecture.parameter("p1.weight")?.shape, [1])
        XCTAssertEqual(architecture.parameter("bn.running_var")?.shape, [8])
    }

    func testCeilModeDropsAWindowStartingInTrailingPadding() {
        // MaxPool2d(2, stride=2, padding=1, ceil_mode=True): on 4, ceil(4 / 2) + 1 = 3 windows;
        // on 5, ceil(5 / 2) + 1 = 4, but the fourth would start at 6 - 1 = 5, past the input.
        let pooling = Pooling(kernel: Size2(square: 2), stride: Size2(square: 2), padding: Size2(square: 1), ceil: true)
        XCTAssertEqual(pooling.outputExtent(4, kernel: 2, stride: 2, padding: 1), 3)
        XCTAssertEqual(pooling.outputExtent(5, kernel: 2, stride: 2, padding: 1), 3)
        let floor = Pooling(kernel: Size2(square: 3), stride: Size2(square: 2))
        XCTAssertEqual(floor.outputExtent(6, kernel: 3, stride: 2, padding: 0), 2)
        XCTAssertNil(floor.outputExtent(2, kernel: 3, stride: 2, padding: 0))
    }
}
